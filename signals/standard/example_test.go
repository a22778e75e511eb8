package standard_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"
	"os"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/signals/standard"
)

// A Go service embedding the production engine in-process: riskauthd's
// embedded defaults (bundled rules, geo fixture, embedded breached list,
// in-memory velocity with SQLite profiles in the data dir).
func ExampleNew() {
	dir, _ := os.MkdirTemp("", "riskauth-example")
	defer os.RemoveAll(dir)

	eng, err := standard.New(standard.Config{DataDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()
	d, err := eng.Engine.Evaluate(context.Background(), engine.Event{Kind: engine.KindLogin, UserID: "alice",
		IP: netip.MustParseAddr("192.0.2.1"), UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		Password: "password1"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d.Action, d.Reasons[0].Rule)
	// Output: step_up breached-password
}
