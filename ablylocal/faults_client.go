package ablylocal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/livesync-dev/livesync-dev/ablylocal/fault"
)

// FaultClient manages the fault rules of a running local endpoint through
// its control route (FaultsPath), with the sandbox key.
type FaultClient struct {
	// Addr is the endpoint's host:port.
	Addr string
	// Key is one of the endpoint's API keys (KEYNAME:SECRET).
	Key string
	// TLS says whether the endpoint speaks TLS.
	TLS bool
	// HTTP is the client used; nil means one with a 10 s timeout.
	HTTP *http.Client
}

// List returns the rules in force.
func (c *FaultClient) List(ctx context.Context) ([]fault.Active, error) {
	var l fault.List
	err := c.do(ctx, http.MethodGet, FaultsPath, nil, &l)
	return l.Faults, err
}

// Add puts a rule in force and returns it with its id.
func (c *FaultClient) Add(ctx context.Context, r fault.Rule) (fault.Active, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return fault.Active{}, err
	}
	var a fault.Active
	err = c.do(ctx, http.MethodPost, FaultsPath, b, &a)
	return a, err
}

// Clear removes the rule with id, or every rule when id is "", and returns
// how many were removed.
func (c *FaultClient) Clear(ctx context.Context, id string) (int, error) {
	path := FaultsPath
	if id != "" {
		path += "/" + url.PathEscape(id)
	}
	var n Cleared
	err := c.do(ctx, http.MethodDelete, path, nil, &n)
	return n.Cleared, err
}

// do sends one request and decodes the answer into out, or the Ably error.
func (c *FaultClient) do(ctx context.Context, method, path string, body []byte, out any) error {
	scheme := "http"
	if c.TLS {
		scheme = "https"
	}
	req, err := http.NewRequestWithContext(ctx, method, scheme+"://"+c.Addr+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	name, secret, _ := strings.Cut(c.Key, ":")
	req.SetBasicAuth(name, secret)
	req.Header.Set("Content-Type", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("the local Ably endpoint at %s does not answer (%v): start it with `livesync-dev sandbox up`", c.Addr, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct{ Error *errorInfo }
		if json.Unmarshal(b, &e) == nil && e.Error != nil {
			return &FaultError{Code: e.Error.Code, StatusCode: resp.StatusCode, Message: e.Error.Message}
		}
		return &FaultError{StatusCode: resp.StatusCode, Message: fmt.Sprintf("%s %s answered %s (is %s a livesync-dev endpoint?)", method, path, resp.Status, c.Addr)}
	}
	return json.Unmarshal(b, out)
}

// FaultError is an error answer of the control route.
type FaultError struct {
	// Code is the Ably error code (40000 a bad rule, 40101 a bad key, 40400
	// no such rule).
	Code int
	// StatusCode is the HTTP status.
	StatusCode int
	// Message says what was wrong.
	Message string
}

// Error implements error.
func (e *FaultError) Error() string { return e.Message }
