package shim

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func fixedClock(t0 time.Time, step time.Duration) func() time.Time {
	now := t0
	return func() time.Time {
		now = now.Add(step)
		return now
	}
}

func TestLogWriterLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c", "0.log")
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	l, err := OpenLog(path, 0, 0, fixedClock(t0, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", MaxLogLine+10)
	in := "hello\r\n\nworld\n" + long + "\nno newline"
	if err := l.Copy("stdout", strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if err := l.Copy("stderr", strings.NewReader("oops\n")); err != nil {
		t.Fatal(err)
	}
	l.Close()
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	want := []string{
		"2026-11-26T10:00:00.001000000Z stdout F hello",
		"2026-11-26T10:00:00.002000000Z stdout F ",
		"2026-11-26T10:00:00.003000000Z stdout F world",
		"2026-11-26T10:00:00.004000000Z stdout P " + long[:MaxLogLine],
		"2026-11-26T10:00:00.005000000Z stdout F " + long[MaxLogLine:],
		"2026-11-26T10:00:00.006000000Z stdout F no newline",
		"2026-11-26T10:00:00.007000000Z stderr F oops",
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), b)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d = %.80q, want %.80q", i, lines[i], want[i])
		}
	}
	var out bytes.Buffer
	if err := ReadLogs(path, time.Time{}, &out); err != nil {
		t.Fatal(err)
	}
	if want := "hello\n\nworld\n" + long + "\nno newline\noops\n"; out.String() != want {
		t.Errorf("ReadLogs = %.100q", out.String())
	}
	out.Reset()
	if err := ReadLogs(path, t0.Add(6*time.Millisecond), &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "no newline\noops\n" {
		t.Errorf("ReadLogs since = %q", out.String())
	}
}

func TestLogWriterRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	l, err := OpenLog(path, 200, 3, fixedClock(t0, 400*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		if err := l.WriteLine("stdout", false, []byte(strings.Repeat("a", 40))); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	rotated, err := RotatedLogs(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(rotated) != 2 {
		t.Fatalf("rotated files %v, want 2 (3 files with the current one)", rotated)
	}
	for _, r := range rotated {
		suffix := strings.TrimPrefix(filepath.Base(r), "0.log.")
		if _, err := time.Parse(RotatedTimeFormat, suffix[:len(RotatedTimeFormat)]); err != nil {
			t.Errorf("rotated name %s: %v", r, err)
		}
		if st, _ := os.Stat(r); st.Size() < 200 {
			t.Errorf("%s has %d bytes, rotated before its limit", r, st.Size())
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 3 {
		t.Errorf("%d files in the log directory, want 3", len(ents))
	}
	var out bytes.Buffer
	if err := ReadLogs(path, time.Time{}, &out); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n < 5 || n > 9 { // 3 files of 200 bytes, lines of 81
		t.Errorf("ReadLogs over rotated files: %d lines", n)
	}
}

func FuzzParseLogLine(f *testing.F) {
	f.Add([]byte("2026-11-26T10:00:00.123456789Z stdout F hello"))
	f.Add([]byte("2026-11-26T10:00:00Z stderr P "))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ll, err := ParseLogLine(b)
		if err == nil && ll.Stream != "stdout" && ll.Stream != "stderr" {
			t.Errorf("stream %q", ll.Stream)
		}
	})
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]int{"SIGTERM": 15, "TERM": 15, "quit": 3, "9": 9, "SIGUSR1": 10} {
		got, err := ParseSignal(in)
		if err != nil || int(got) != want {
			t.Errorf("ParseSignal(%q) = %d %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "NOPE", "0", "99"} {
		if _, err := ParseSignal(in); err == nil {
			t.Errorf("ParseSignal(%q): no error", in)
		}
	}
}
