package dns

import "testing"

// Exported for the tests in package dns_test.

// FakeUpstream is a resolver for tests; see fakeUpstream.
type FakeUpstream = fakeUpstream

// StartUpstream starts a FakeUpstream on 127.0.0.1 until the test ends.
func StartUpstream(t testing.TB) *FakeUpstream { return startUpstream(t) }

// Addr is the upstream's host:port.
func (u *fakeUpstream) Addr() string { return u.addr }

// Count returns how many times name of type qtype reached the upstream.
func (u *fakeUpstream) Count(name string, qtype uint16) int { return u.count(name, qtype, "") }
