// Package authntest holds test doubles for the interfaces authn declares
// for its stores: Counting wraps a real store and counts the calls of
// each method, so a test can assert that two answers that must look alike
// (a wrong and a right password, a mail sent and one held back) did the
// same work, without timing anything.
//
// It is not a fake store (the real SQLite or PostgreSQL store sits
// underneath) and not for production code.
package authntest
