package mail

import (
	"bytes"
	"fmt"

	"github.com/riskauth/riskauth/internal/leaf/atomicfile"
	"github.com/riskauth/riskauth/internal/leaf/privfile"
)

// Forget removes from the outbox every mail whose line names key or any
// of needles (an erased user's id and address): the development outbox
// is a file in the data dir, and an erasure leaves no trace of the user
// there. Failures are logged; the outbox goes on.
func (o *Outbox) Forget(key string, needles ...string) {
	var ns [][]byte
	for _, n := range append([]string{key}, needles...) {
		if n != "" {
			ns = append(ns, []byte(n))
		}
	}
	if len(ns) == 0 {
		return
	}
	if err := o.forget(ns); err != nil {
		o.logger.Error("mail outbox: erasure: the user's mail stays", "err", err)
	}
}

func (o *Outbox) forget(needles [][]byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return ErrClosed
	}
	_, err := atomicfile.DropLines(o.path, func(l []byte) bool {
		for _, n := range needles {
			if bytes.Contains(l, n) {
				return true
			}
		}
		return false
	})
	if err != nil {
		return err
	}
	f, err := privfile.OpenAppend(o.path)
	if err != nil {
		return fmt.Errorf("reopen: %w", err)
	}
	_ = o.f.Close()
	o.f = f
	return nil
}
