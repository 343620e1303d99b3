package crilog

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func TestParse(t *testing.T) {
	cases := []struct {
		in      string
		want    Line
		wantErr string
	}{
		{in: "2026-11-26T10:00:00.001000000Z stdout F hello world", want: Line{Time: at(1), Stream: Stdout, Msg: []byte("hello world")}},
		{in: "2026-11-26T10:00:00.001Z stderr P part", want: Line{Time: at(1), Stream: Stderr, Partial: true, Msg: []byte("part")}},
		{in: "2026-11-26T10:00:00Z stdout F ", want: Line{Time: t0, Stream: Stdout, Msg: []byte{}}},
		{in: "2026-11-26T10:00:00Z stdout F", want: Line{Time: t0, Stream: Stdout}},
		{in: "2026-11-26T11:00:00+01:00 stdout F  two spaces ", want: Line{Time: t0, Stream: Stdout, Msg: []byte(" two spaces ")}},
		{in: "", wantErr: "no timestamp"},
		{in: "yesterday stdout F x", wantErr: "timestamp"},
		{in: "2026-11-26T10:00:00Z stdin F x", wantErr: "no stream"},
		{in: "2026-11-26T10:00:00Z stdout", wantErr: "no stream"},
		{in: "2026-11-26T10:00:00Z stdout X x", wantErr: "unknown tag"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := Parse([]byte(c.in))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Time.Equal(c.want.Time) || got.Stream != c.want.Stream || got.Partial != c.want.Partial || !bytes.Equal(got.Msg, c.want.Msg) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"2026-11-26T10:00:00.001000000Z stdout F hello",
		"2026-11-26T10:00:00Z stderr P ",
		"2026-11-26T10:00:00Z stdout F",
		"x y z",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		l, err := Parse(in)
		if err != nil {
			return
		}
		if l.Stream != Stdout && l.Stream != Stderr {
			t.Fatalf("stream %q", l.Stream)
		}
		if bytes.IndexByte(l.Msg, '\n') >= 0 {
			return // Append's contract excludes newlines; Parse never sees them in a file
		}
		// What parses formats back to a line that parses to the same thing.
		out := Append(nil, l)
		again, err := Parse(out[:len(out)-1])
		if err != nil {
			t.Fatalf("reparse %q: %v", out, err)
		}
		if !again.Time.Equal(l.Time) || again.Stream != l.Stream || again.Partial != l.Partial || !bytes.Equal(again.Msg, l.Msg) {
			t.Fatalf("round trip: %+v -> %q -> %+v", l, out, again)
		}
	})
}

// logFile writes lines to a new log file and returns its path.
func logFile(t *testing.T, lines ...Line) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "0.log")
	writeLines(t, path, lines...)
	return path
}

func writeLines(t *testing.T, path string, lines ...Line) {
	t.Helper()
	var b []byte
	for _, l := range lines {
		b = Append(b, l)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func full(ms int, stream, msg string) Line {
	return Line{Time: at(ms), Stream: stream, Msg: []byte(msg)}
}

func part(ms int, stream, msg string) Line {
	return Line{Time: at(ms), Stream: stream, Partial: true, Msg: []byte(msg)}
}

func read(t *testing.T, path string, opts Options) string {
	t.Helper()
	var out bytes.Buffer
	if err := Read(context.Background(), path, opts, &out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestReadOptions(t *testing.T) {
	lines := []Line{
		full(1, Stdout, "one"),
		full(2, Stderr, "two"),
		part(3, Stdout, "thr"),
		part(4, Stdout, "e"),
		full(5, Stdout, "e"),
		full(6, Stdout, ""),
		full(7, Stdout, "five"),
	}
	all := Options{Tail: -1}
	cases := []struct {
		name string
		opts Options
		want string
	}{
		{"all", all, "one\ntwo\nthree\n\nfive\n"},
		{"tail 0", Options{Tail: 0}, ""},
		{"tail 1", Options{Tail: 1}, "five\n"},
		{"tail 3 counts a joined line once", Options{Tail: 3}, "three\n\nfive\n"},
		{"tail 4", Options{Tail: 4}, "two\nthree\n\nfive\n"},
		{"tail beyond", Options{Tail: 100}, "one\ntwo\nthree\n\nfive\n"},
		{"since", Options{Tail: -1, Since: at(2)}, "two\nthree\n\nfive\n"},
		{"since keeps a line whose first piece is not older", Options{Tail: -1, Since: at(3)}, "three\n\nfive\n"},
		{"since drops a line whose first piece is older", Options{Tail: -1, Since: at(4)}, "\nfive\n"},
		{"limit", Options{Tail: -1, LimitBytes: 6}, "one\ntw"},
		{"limit exact", Options{Tail: -1, LimitBytes: 8}, "one\ntwo\n"},
		{"timestamps once per line", Options{Tail: 3, Timestamps: true},
			"2026-11-26T10:00:00.003000000Z three\n2026-11-26T10:00:00.006000000Z \n2026-11-26T10:00:00.007000000Z five\n"},
		{"timestamps and limit", Options{Tail: 1, Timestamps: true, LimitBytes: 10}, "2026-11-26"},
		{"tail and since", Options{Tail: 4, Since: at(5)}, "\nfive\n"},
	}
	path := logFile(t, lines...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := read(t, path, c.opts); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestReadInterleavedStreams(t *testing.T) {
	// A line of stderr between two pieces of a stdout line: each stream is joined on its own.
	path := logFile(t, part(1, Stdout, "ab"), full(2, Stderr, "err"), full(3, Stdout, "c"))
	if got := read(t, path, Options{Tail: -1, Timestamps: true}); got != "2026-11-26T10:00:00.001000000Z ab2026-11-26T10:00:00.002000000Z err\nc\n" {
		t.Errorf("got %q", got)
	}
}

func TestReadSkipsMalformedAndUnfinished(t *testing.T) {
	path := logFile(t, full(1, Stdout, "a"))
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("garbage line\n2026-11-26T10:00:00Z stdout F b\n2026-11-26T10:00:00Z stdout F unfinished")
	f.Close()
	if got := read(t, path, Options{Tail: -1}); got != "a\nb\n" {
		t.Errorf("got %q", got)
	}
	if got := read(t, path, Options{Tail: 1}); got != "b\n" {
		t.Errorf("tail 1: got %q", got)
	}
}

func TestReadRotatedFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	// Older files first: the -N suffixes order numerically, after the plain name.
	writeLines(t, path+".20261126-100000", full(1, Stdout, "r1"))
	writeLines(t, path+".20261126-100000-2", full(2, Stdout, "r2"), part(3, Stdout, "spl"))
	writeLines(t, path+".20261126-100000-10", full(4, Stdout, "it"), full(5, Stdout, "r10"))
	writeLines(t, path+".20261126-100000-1.gz", full(0, Stdout, "compressed: skipped"))
	writeLines(t, path, full(6, Stdout, "current"))
	files, err := RotatedLogs(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 || !strings.HasSuffix(files[1], "-2") || !strings.HasSuffix(files[2], "-10") {
		t.Fatalf("rotated = %q", files)
	}
	if got := read(t, path, Options{Tail: -1}); got != "r1\nr2\nsplit\nr10\ncurrent\n" {
		t.Errorf("all: got %q", got)
	}
	if got := read(t, path, Options{Tail: 3}); got != "split\nr10\ncurrent\n" {
		t.Errorf("tail 3 across files: got %q", got)
	}
	if got := read(t, path, Options{Tail: 4}); got != "r2\nsplit\nr10\ncurrent\n" {
		t.Errorf("tail 4 across files: got %q", got)
	}
}

func TestScanBackAcrossBlocks(t *testing.T) {
	// Lines longer than the scan's block.
	long := strings.Repeat("x", tailBlock+100)
	path := logFile(t, full(1, Stdout, long), part(2, Stdout, long), full(3, Stdout, "y"), full(4, Stdout, "z"))
	if got := read(t, path, Options{Tail: 2}); got != long+"y\nz\n" {
		t.Errorf("tail 2: got %d bytes", len(got))
	}
	if got := read(t, path, Options{Tail: 3}); got != long+"\n"+long+"y\nz\n" {
		t.Errorf("tail 3: got %d bytes", len(got))
	}
}

// syncBuffer is a bytes.Buffer safe for a reader and a writer.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for out.String() != want {
		if time.Now().After(deadline) {
			t.Fatalf("output %q, want %q", out.String(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFollowAppendsRotationAndExit(t *testing.T) {
	path := logFile(t, full(1, Stdout, "a"))
	var running sync.Mutex
	alive := true
	isRunning := func() bool { running.Lock(); defer running.Unlock(); return alive }
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- Read(context.Background(), path, Options{Tail: -1, Follow: true, Running: isRunning, PollInterval: 5 * time.Millisecond}, out)
	}()
	waitFor(t, out, "a\n")

	// An unfinished line is held back until its newline comes.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("2026-11-26T10:00:00.002Z stdout F b")
	time.Sleep(30 * time.Millisecond)
	if out.String() != "a\n" {
		t.Fatalf("unfinished line written: %q", out.String())
	}
	f.WriteString("c\n")
	f.Close()
	waitFor(t, out, "a\nbc\n")

	// Rotation: the old file gets a last line, is renamed, and a new file takes its place.
	writeLines(t, path, full(3, Stdout, "before rotation"))
	if err := os.Rename(path, path+".20261126-100000"); err != nil {
		t.Fatal(err)
	}
	writeLines(t, path, full(4, Stdout, "after rotation"))
	waitFor(t, out, "a\nbc\nbefore rotation\nafter rotation\n")

	// The container exits after a last line: following ends once it is written.
	writeLines(t, path, full(5, Stdout, "last"))
	running.Lock()
	alive = false
	running.Unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not end after the container stopped")
	}
	if got := out.String(); got != "a\nbc\nbefore rotation\nafter rotation\nlast\n" {
		t.Errorf("got %q", got)
	}
}

func TestFollowEndsWithContext(t *testing.T) {
	path := logFile(t, full(1, Stdout, "a"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Read(ctx, path, Options{Tail: -1, Follow: true, PollInterval: 5 * time.Millisecond}, io.Discard)
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not end with its context")
	}
}

func TestFollowLimit(t *testing.T) {
	path := logFile(t, full(1, Stdout, "abc"))
	// The limit ends a follow too.
	done := make(chan string, 1)
	go func() {
		var out bytes.Buffer
		Read(context.Background(), path, Options{Tail: -1, Follow: true, LimitBytes: 6, PollInterval: 5 * time.Millisecond}, &out)
		done <- out.String()
	}()
	time.Sleep(20 * time.Millisecond)
	writeLines(t, path, full(2, Stdout, "defgh"))
	select {
	case got := <-done:
		if got != "abc\nde" {
			t.Errorf("got %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not end at the limit")
	}
}
