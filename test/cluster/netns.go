package cluster

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/skiff-project/skiff/internal/pinnedns"
)

// Dial connects from the node's network namespace, as a process on the node would.
func (n *Node) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := pinnedns.Do(n.NetNS, func() error {
		var err error
		c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// HTTPClient returns an HTTP client whose connections start on the node (Dial), with the
// given timeout per request.
func (n *Node) HTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: n.Dial, DisableKeepAlives: true}}
}
