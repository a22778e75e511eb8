package main

import (
	"encoding/xml"
	"fmt"
	"os"
	"strings"
)

// JUnit XML, in the shape CI systems (Jenkins, GitLab, GitHub reporters)
// read: one suite per file, one testcase per case or step expectation.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Error     *junitError   `xml:"error,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",cdata"`
}

type junitError struct {
	Message string `xml:"message,attr"`
}

func junitReport(suites []testSuite) ([]byte, error) {
	out := junitSuites{Name: "riskctl rules test"}
	for _, s := range suites {
		js := junitSuite{Name: s.Name, Tests: len(s.Cases), Failures: s.failed()}
		if s.Error != "" {
			// A file that could not run is one erroring testcase, which
			// is where JUnit readers look for errors.
			js.Tests++
			js.Errors = 1
			js.Cases = append(js.Cases, junitCase{Name: "run", Classname: s.Name, Error: &junitError{Message: s.Error}})
		}
		for _, c := range s.Cases {
			jc := junitCase{Name: c.Name, Classname: s.Name}
			if c.Failed {
				msg := c.Name
				if len(c.Detail) > 0 {
					msg = strings.TrimSpace(c.Detail[0])
					for _, d := range c.Detail {
						// The first difference that is not context is the headline.
						if t := strings.TrimSpace(d); !strings.HasPrefix(t, "repetition ") && !strings.HasPrefix(t, "event: ") {
							msg = t
							break
						}
					}
				}
				jc.Failure = &junitFailure{Message: msg, Type: "mismatch", Body: strings.Join(c.Detail, "\n")}
			}
			js.Cases = append(js.Cases, jc)
		}
		out.Tests += js.Tests
		out.Failures += js.Failures
		out.Errors += js.Errors
		out.Suites = append(out.Suites, js)
	}
	b, err := xml.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("junit: %w", err)
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

func writeJUnit(path string, suites []testSuite) error {
	b, err := junitReport(suites)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	return nil
}
