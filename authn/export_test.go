package authn

// QueuedMails is how many mails s has put on its queue so far, those it
// drops included: the tests compare it across accounts (issue 17, item 4).
func QueuedMails(s *Services) int64 { return s.mail.enqueued.Load() }
