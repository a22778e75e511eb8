package authntest

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/riskauth/riskauth/authn"
)

// Store is every store interface authn declares: what one *store.SQLite
// or *store.Postgres serves and authn.Deps takes field by field.
type Store interface {
	authn.UserStore
	authn.FlowStore
	authn.TokenStore
	authn.SessionBackend
	authn.AttemptStore
	authn.TOTPStore
	authn.RecoveryCodeStore
	authn.EventCounter
	authn.FlowClientStore
}

// Counting is a Store that counts the calls of each method before handing
// them to the wrapped one. Safe for concurrent use.
type Counting struct {
	next Store

	mu    sync.Mutex
	calls map[string]int
}

var _ Store = (*Counting)(nil)

// NewCounting wraps next.
func NewCounting(next Store) *Counting {
	return &Counting{next: next, calls: map[string]int{}}
}

// writes are the methods that change the database (or may: a code check
// counts an attempt).
var writes = map[string]bool{
	"CreateUser": true, "SetPassword": true, "ReplacePasswordHash": true, "MarkEmailVerified": true, "SetDisabled": true, "CreateFlow": true, "AdvanceFlow": true, "IssueToken": true, "ConsumeToken": true, "VerifyCode": true, "CreateSession": true, "TouchSession": true, "RevokeSession": true, "RevokeOtherSessions": true, "RecordAttempt": true, "BeginTOTP": true, "ConfirmTOTP": true, "UseTOTPStep": true, "DeleteTOTP": true, "ReplaceRecoveryCodes": true, "ConsumeRecoveryCode": true, "AddEvent": true, "ReserveEvent": true, "ClearEvents": true, "SaveFlowClient": true,
}

// Calls returns how often each method was called since the last Reset.
func (c *Counting) Calls() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.calls)
}

// Writes returns the calls of the writing methods only.
func (c *Counting) Writes() map[string]int {
	out := c.Calls()
	maps.DeleteFunc(out, func(m string, _ int) bool { return !writes[m] })
	return out
}

// Reset forgets the calls counted so far.
func (c *Counting) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.calls)
}

func (c *Counting) count(method string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[method]++
}

// UserByID counts the call and calls the wrapped store.
func (c *Counting) UserByID(ctx context.Context, id string) (authn.User, error) {
	c.count("UserByID")
	return c.next.UserByID(ctx, id)
}

// UserByEmail counts the call and calls the wrapped store.
func (c *Counting) UserByEmail(ctx context.Context, email string) (authn.User, error) {
	c.count("UserByEmail")
	return c.next.UserByEmail(ctx, email)
}

// CreateUser counts the call and calls the wrapped store.
func (c *Counting) CreateUser(ctx context.Context, u authn.User) error {
	c.count("CreateUser")
	return c.next.CreateUser(ctx, u)
}

// SetPassword counts the call and calls the wrapped store.
func (c *Counting) SetPassword(ctx context.Context, userID, hash string, at time.Time) error {
	c.count("SetPassword")
	return c.next.SetPassword(ctx, userID, hash, at)
}

// ReplacePasswordHash counts the call and calls the wrapped store.
func (c *Counting) ReplacePasswordHash(ctx context.Context, userID, old, hash string, at time.Time) error {
	c.count("ReplacePasswordHash")
	return c.next.ReplacePasswordHash(ctx, userID, old, hash, at)
}

// MarkEmailVerified counts the call and calls the wrapped store.
func (c *Counting) MarkEmailVerified(ctx context.Context, userID string, at time.Time) error {
	c.count("MarkEmailVerified")
	return c.next.MarkEmailVerified(ctx, userID, at)
}

// SetDisabled counts the call and calls the wrapped store.
func (c *Counting) SetDisabled(ctx context.Context, userID string, disabled bool, at time.Time) error {
	c.count("SetDisabled")
	return c.next.SetDisabled(ctx, userID, disabled, at)
}

// CreateFlow counts the call and calls the wrapped store.
func (c *Counting) CreateFlow(ctx context.Context, f authn.LoginFlow) error {
	c.count("CreateFlow")
	return c.next.CreateFlow(ctx, f)
}

// FlowByID counts the call and calls the wrapped store.
func (c *Counting) FlowByID(ctx context.Context, id string, now time.Time) (authn.LoginFlow, error) {
	c.count("FlowByID")
	return c.next.FlowByID(ctx, id, now)
}

// AdvanceFlow counts the call and calls the wrapped store.
func (c *Counting) AdvanceFlow(ctx context.Context, id string, tr authn.FlowTransition, now time.Time) (authn.LoginFlow, error) {
	c.count("AdvanceFlow")
	return c.next.AdvanceFlow(ctx, id, tr, now)
}

// IssueToken counts the call and calls the wrapped store.
func (c *Counting) IssueToken(ctx context.Context, t authn.OneTimeToken) error {
	c.count("IssueToken")
	return c.next.IssueToken(ctx, t)
}

// ConsumeToken counts the call and calls the wrapped store.
func (c *Counting) ConsumeToken(ctx context.Context, kind authn.TokenKind, hash []byte, now time.Time) (authn.OneTimeToken, error) {
	c.count("ConsumeToken")
	return c.next.ConsumeToken(ctx, kind, hash, now)
}

// VerifyCode counts the call and calls the wrapped store.
func (c *Counting) VerifyCode(ctx context.Context, kind authn.TokenKind, flowID string, hash []byte, now time.Time) (authn.OneTimeToken, error) {
	c.count("VerifyCode")
	return c.next.VerifyCode(ctx, kind, flowID, hash, now)
}

// LiveToken counts the call and calls the wrapped store.
func (c *Counting) LiveToken(ctx context.Context, kind authn.TokenKind, hash []byte, now time.Time) (authn.OneTimeToken, error) {
	c.count("LiveToken")
	return c.next.LiveToken(ctx, kind, hash, now)
}

// CountTokensSince counts the call and calls the wrapped store.
func (c *Counting) CountTokensSince(ctx context.Context, userID string, kind authn.TokenKind, since time.Time) (int, error) {
	c.count("CountTokensSince")
	return c.next.CountTokensSince(ctx, userID, kind, since)
}

// CreateSession counts the call and calls the wrapped store.
func (c *Counting) CreateSession(ctx context.Context, s authn.Session) error {
	c.count("CreateSession")
	return c.next.CreateSession(ctx, s)
}

// SessionByTokenHash counts the call and calls the wrapped store.
func (c *Counting) SessionByTokenHash(ctx context.Context, tokenHash []byte, now time.Time) (authn.Session, error) {
	c.count("SessionByTokenHash")
	return c.next.SessionByTokenHash(ctx, tokenHash, now)
}

// TouchSession counts the call and calls the wrapped store.
func (c *Counting) TouchSession(ctx context.Context, id string, now, idleExpiresAt time.Time) error {
	c.count("TouchSession")
	return c.next.TouchSession(ctx, id, now, idleExpiresAt)
}

// RevokeSession counts the call and calls the wrapped store.
func (c *Counting) RevokeSession(ctx context.Context, userID, id string, at time.Time) error {
	c.count("RevokeSession")
	return c.next.RevokeSession(ctx, userID, id, at)
}

// ListSessions counts the call and calls the wrapped store.
func (c *Counting) ListSessions(ctx context.Context, userID string, now time.Time) ([]authn.Session, error) {
	c.count("ListSessions")
	return c.next.ListSessions(ctx, userID, now)
}

// RevokeOtherSessions counts the call and calls the wrapped store.
func (c *Counting) RevokeOtherSessions(ctx context.Context, userID, exceptID string, at time.Time) (int, error) {
	c.count("RevokeOtherSessions")
	return c.next.RevokeOtherSessions(ctx, userID, exceptID, at)
}

// RecordAttempt counts the call and calls the wrapped store.
func (c *Counting) RecordAttempt(ctx context.Context, a authn.Attempt) error {
	c.count("RecordAttempt")
	return c.next.RecordAttempt(ctx, a)
}

// CountFailures counts the call and calls the wrapped store.
func (c *Counting) CountFailures(ctx context.Context, userID string, factor authn.Factor, since time.Time) (int, error) {
	c.count("CountFailures")
	return c.next.CountFailures(ctx, userID, factor, since)
}

// CountFailuresFrom counts the call and calls the wrapped store.
func (c *Counting) CountFailuresFrom(ctx context.Context, userID, ip, deviceID string, since time.Time) (int, error) {
	c.count("CountFailuresFrom")
	return c.next.CountFailuresFrom(ctx, userID, ip, deviceID, since)
}

// RecentLogins counts the call and calls the wrapped store.
func (c *Counting) RecentLogins(ctx context.Context, userID string, limit int) ([]authn.Attempt, error) {
	c.count("RecentLogins")
	return c.next.RecentLogins(ctx, userID, limit)
}

// BeginTOTP counts the call and calls the wrapped store.
func (c *Counting) BeginTOTP(ctx context.Context, f authn.TOTPFactor) error {
	c.count("BeginTOTP")
	return c.next.BeginTOTP(ctx, f)
}

// PendingTOTP counts the call and calls the wrapped store.
func (c *Counting) PendingTOTP(ctx context.Context, userID string) (authn.TOTPFactor, error) {
	c.count("PendingTOTP")
	return c.next.PendingTOTP(ctx, userID)
}

// ConfirmTOTP counts the call and calls the wrapped store.
func (c *Counting) ConfirmTOTP(ctx context.Context, userID, factorID string, step int64, at time.Time) error {
	c.count("ConfirmTOTP")
	return c.next.ConfirmTOTP(ctx, userID, factorID, step, at)
}

// ActiveTOTP counts the call and calls the wrapped store.
func (c *Counting) ActiveTOTP(ctx context.Context, userID string) (authn.TOTPFactor, error) {
	c.count("ActiveTOTP")
	return c.next.ActiveTOTP(ctx, userID)
}

// UseTOTPStep counts the call and calls the wrapped store.
func (c *Counting) UseTOTPStep(ctx context.Context, factorID string, step int64) error {
	c.count("UseTOTPStep")
	return c.next.UseTOTPStep(ctx, factorID, step)
}

// DeleteTOTP counts the call and calls the wrapped store.
func (c *Counting) DeleteTOTP(ctx context.Context, userID, factorID string) error {
	c.count("DeleteTOTP")
	return c.next.DeleteTOTP(ctx, userID, factorID)
}

// ReplaceRecoveryCodes counts the call and calls the wrapped store.
func (c *Counting) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, at time.Time) error {
	c.count("ReplaceRecoveryCodes")
	return c.next.ReplaceRecoveryCodes(ctx, userID, hashes, at)
}

// ConsumeRecoveryCode counts the call and calls the wrapped store.
func (c *Counting) ConsumeRecoveryCode(ctx context.Context, userID string, hash []byte, at time.Time) error {
	c.count("ConsumeRecoveryCode")
	return c.next.ConsumeRecoveryCode(ctx, userID, hash, at)
}

// CountRecoveryCodes counts the call and calls the wrapped store.
func (c *Counting) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	c.count("CountRecoveryCodes")
	return c.next.CountRecoveryCodes(ctx, userID)
}

// CountEvents counts the call and calls the wrapped store.
func (c *Counting) CountEvents(ctx context.Context, key []byte, since time.Time) (int, error) {
	c.count("CountEvents")
	return c.next.CountEvents(ctx, key, since)
}

// AddEvent counts the call and calls the wrapped store.
func (c *Counting) AddEvent(ctx context.Context, key []byte, at, expires time.Time) error {
	c.count("AddEvent")
	return c.next.AddEvent(ctx, key, at, expires)
}

// ReserveEvent counts the call and calls the wrapped store.
func (c *Counting) ReserveEvent(ctx context.Context, key []byte, limit int, since, at, expires time.Time) (bool, error) {
	c.count("ReserveEvent")
	return c.next.ReserveEvent(ctx, key, limit, since, at, expires)
}

// ClearEvents counts the call and calls the wrapped store.
func (c *Counting) ClearEvents(ctx context.Context, key []byte) error {
	c.count("ClearEvents")
	return c.next.ClearEvents(ctx, key)
}

// SaveFlowClient counts the call and calls the wrapped store.
func (c *Counting) SaveFlowClient(ctx context.Context, fc authn.FlowClient) error {
	c.count("SaveFlowClient")
	return c.next.SaveFlowClient(ctx, fc)
}

// FlowClient counts the call and calls the wrapped store.
func (c *Counting) FlowClient(ctx context.Context, flowID string, now time.Time) (authn.FlowClient, error) {
	c.count("FlowClient")
	return c.next.FlowClient(ctx, flowID, now)
}
