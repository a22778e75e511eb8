// Package architecture holds no code: its test is the one place where the
// layering of riskauth's packages is written down (which group of
// packages may import which), checked against the real import graph on
// every test run, and rendered into docs/architecture.md. A package that
// imports against the layering, or a new package that belongs to no
// layer, fails the suite.
package architecture
