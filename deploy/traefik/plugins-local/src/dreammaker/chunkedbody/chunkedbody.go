// Package chunkedbody is a traefik middleware (a local plugin, run by traefik's Go interpreter) that reads
// a request body sent in chunked transfer coding before the request is forwarded.
//
// Traefik streams a request body to the service while it reads it from the client, and when the chunked
// coding turns out broken half way it answers its own plain 500 (traefik/traefik#11087). Read first, a
// broken body is the suite's 400 envelope and one over the gateway's body limit its 413, and a whole one is
// forwarded with a Content-Length. Requests without a transfer coding (nearly all) pass untouched.
package chunkedbody

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Config is the middleware's settings: the largest body it reads (the gateway's own limit).
type Config struct {
	MaxBytes int64 `json:"maxBytes,omitempty"`
}

// CreateConfig returns the default settings.
func CreateConfig() *Config {
	return &Config{MaxBytes: 65536}
}

type chunkedBody struct {
	next     http.Handler
	maxBytes int64
}

// New builds the middleware.
func New(ctx context.Context, next http.Handler, config *Config, name string) (http.Handler, error) {
	if config.MaxBytes <= 0 {
		return nil, fmt.Errorf("maxBytes must be positive, got %d", config.MaxBytes)
	}
	return &chunkedBody{next: next, maxBytes: config.MaxBytes}, nil
}

func (c *chunkedBody) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if len(req.TransferEncoding) == 0 {
		c.next.ServeHTTP(w, req)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, c.maxBytes+1))
	if err != nil {
		refuse(w, http.StatusBadRequest, "BAD_REQUEST", "The request is not valid HTTP", "{}")
		return
	}
	if int64(len(body)) > c.maxBytes {
		refuse(w, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", "Request body too large",
			`{"max_bytes":`+strconv.FormatInt(c.maxBytes, 10)+`}`)
		return
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	req.TransferEncoding = nil
	c.next.ServeHTTP(w, req)
}

// refuse answers in the suite's error envelope (shared/dm_shared/envelope.py) and closes the connection:
// what is left of the body cannot be read.
func refuse(w http.ResponseWriter, status int, code, message, details string) {
	body := `{"success":false,"error":{"code":"` + code + `","message":"` + message + `","details":` + details +
		`},"timestamp":` + strconv.FormatInt(time.Now().UnixMilli(), 10) + `}`
	header := w.Header()
	header.Set("Content-Type", "application/json")
	header.Set("Content-Length", strconv.Itoa(len(body)))
	header.Set("Cache-Control", "no-store")
	header.Set("X-Content-Type-Options", "nosniff")
	header.Set("Connection", "close")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
