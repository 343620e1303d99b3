package streaming

import (
	"bytes"
	"net/url"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestFrames(t *testing.T) {
	cases := []struct {
		name        string
		channel     byte
		data        []byte
		b64         bool
		wantType    int
		wantPayload []byte
	}{
		{"binary stdout", 1, []byte("hi\n"), false, websocket.BinaryMessage, []byte("\x01hi\n")},
		{"binary empty ready message", 1, nil, false, websocket.BinaryMessage, []byte{1}},
		{"binary error channel", 3, []byte(`{"status":"Success"}`), false, websocket.BinaryMessage, []byte("\x03{\"status\":\"Success\"}")},
		{"base64 stderr", 2, []byte("oops"), true, websocket.TextMessage, []byte("2b29wcw==")},
		{"base64 empty", 1, nil, true, websocket.TextMessage, []byte("1")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			typ, payload := encodeFrame(c.channel, c.data, c.b64)
			if typ != c.wantType || !bytes.Equal(payload, c.wantPayload) {
				t.Fatalf("encode = %d %q, want %d %q", typ, payload, c.wantType, c.wantPayload)
			}
			// What the server writes, the server would read back the same way.
			f, err := decodeFrame(typ, payload, c.b64, false)
			if err != nil {
				t.Fatal(err)
			}
			if f.channel != c.channel || !bytes.Equal(f.data, c.data) || f.close {
				t.Errorf("decode = %+v", f)
			}
		})
	}
}

func TestDecodeClientFrames(t *testing.T) {
	cases := []struct {
		name    string
		typ     int
		msg     []byte
		b64, v5 bool
		want    frame
		wantErr bool
	}{
		{name: "v5 stdin", typ: websocket.BinaryMessage, msg: []byte("\x00abc"), v5: true, want: frame{channel: 0, data: []byte("abc")}},
		{name: "v5 close stdin", typ: websocket.BinaryMessage, msg: []byte{255, 0}, v5: true, want: frame{channel: 0, close: true}},
		{name: "v5 close signal with extra bytes", typ: websocket.BinaryMessage, msg: []byte{255, 0, 1}, v5: true, wantErr: true},
		{name: "v4 has no close signal: channel 255 is data", typ: websocket.BinaryMessage, msg: []byte{255, 0}, want: frame{channel: 255, data: []byte{0}}},
		{name: "resize", typ: websocket.BinaryMessage, msg: []byte("\x04{\"Width\":80,\"Height\":24}"), v5: true, want: frame{channel: 4, data: []byte(`{"Width":80,"Height":24}`)}},
		{name: "empty", typ: websocket.BinaryMessage, msg: nil, wantErr: true},
		{name: "text on a binary protocol", typ: websocket.TextMessage, msg: []byte("0abc"), wantErr: true},
		{name: "base64 stdin", typ: websocket.TextMessage, msg: []byte("0aGk="), b64: true, want: frame{channel: 0, data: []byte("hi")}},
		{name: "base64 bad channel", typ: websocket.TextMessage, msg: []byte("xaGk="), b64: true, wantErr: true},
		{name: "base64 bad payload", typ: websocket.TextMessage, msg: []byte("0!!"), b64: true, wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := decodeFrame(c.typ, c.msg, c.b64, c.v5)
			if c.wantErr {
				if err == nil {
					t.Fatalf("decoded %+v, want an error", f)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.channel != c.want.channel || f.close != c.want.close || !bytes.Equal(f.data, c.want.data) {
				t.Errorf("got %+v, want %+v", f, c.want)
			}
		})
	}
}

func TestParseExecQuery(t *testing.T) {
	cases := []struct {
		query   string
		exec    bool
		want    execOptions
		wantErr string
	}{
		{query: "command=echo&command=hi&stdout=1&stderr=1", exec: true, want: execOptions{Command: []string{"echo", "hi"}, Stdout: true, Stderr: true}},
		{query: "command=sh&stdin=true&stdout=true&stderr=true&tty=true", exec: true, want: execOptions{Command: []string{"sh"}, Stdin: true, Stdout: true, TTY: true}},
		{query: "stdout=1", exec: true, wantErr: "at least 1 command"},
		{query: "command=ls", exec: true, wantErr: "at least one of stdin, stdout, stderr"},
		{query: "command=ls&stdout=maybe", exec: true, wantErr: "stdout: invalid value"},
		{query: "stdout=1", exec: false, want: execOptions{Stdout: true}},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			q, _ := url.ParseQuery(c.query)
			got, err := parseExecQuery(q, c.exec)
			if c.wantErr != "" {
				if err == nil || !bytes.Contains([]byte(err.Error()), []byte(c.wantErr)) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Command) != len(c.want.Command) || got.Stdin != c.want.Stdin || got.Stdout != c.want.Stdout || got.Stderr != c.want.Stderr || got.TTY != c.want.TTY {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestParseLogQuery(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		query   string
		check   func(logRequest) bool
		wantErr string
	}{
		{query: "", check: func(r logRequest) bool { return r.Tail == -1 && !r.Follow && r.Since.IsZero() && r.LimitBytes == 0 }},
		{query: "follow=true&tailLines=5&timestamps=true&previous=1", check: func(r logRequest) bool { return r.Follow && r.Tail == 5 && r.Timestamps && r.Previous }},
		{query: "sinceSeconds=60", check: func(r logRequest) bool { return r.Since.Equal(now.Add(-time.Minute)) }},
		{query: "sinceTime=2026-11-26T09:00:00Z", check: func(r logRequest) bool { return r.Since.Equal(now.Add(-time.Hour)) }},
		{query: "limitBytes=10", check: func(r logRequest) bool { return r.LimitBytes == 10 }},
		{query: "tailLines=0", check: func(r logRequest) bool { return r.Tail == 0 }},
		{query: "tailLines=-1", wantErr: "tailLines"},
		{query: "limitBytes=0", wantErr: "limitBytes"},
		{query: "sinceSeconds=0", wantErr: "sinceSeconds"},
		{query: "sinceSeconds=5&sinceTime=2026-11-26T09:00:00Z", wantErr: "at most one of sinceTime or sinceSeconds"},
		{query: "sinceTime=yesterday", wantErr: "sinceTime"},
		{query: "follow=sure", wantErr: "follow"},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			q, _ := url.ParseQuery(c.query)
			got, err := parseLogQuery(q, now)
			if c.wantErr != "" {
				if err == nil || !bytes.Contains([]byte(err.Error()), []byte(c.wantErr)) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(got) {
				t.Errorf("got %+v", got)
			}
		})
	}
}

func TestSubresources(t *testing.T) {
	cases := map[string][]string{
		"/stats/summary":        {"stats"},
		"/stats":                {"stats"},
		"/statsx":               {"proxy"},
		"/metrics/cadvisor":     {"metrics"},
		"/logs/syslog":          {"log"},
		"/pods":                 {"pods", "proxy"},
		"/healthz":              {"healthz", "proxy"},
		"/containerLogs/ns/p/c": {"proxy"},
		"/exec/ns/p/c":          {"proxy"},
		"/portForward/ns/p":     {"proxy"},
	}
	for path, want := range cases {
		got := subresourcesOf(path)
		if len(got) != len(want) || got[0] != want[0] {
			t.Errorf("%s: %v, want %v", path, got, want)
		}
	}
}
