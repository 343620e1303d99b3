package shim

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// CRI log format: one line per chunk of output,
//
//	2026-11-26T10:00:00.123456789Z stdout F message
//
// with the stream (stdout or stderr) and a tag: F for the end of a line of output (whose newline
// is not written), P for a part of a line longer than MaxLogLine, which the next chunks continue.
const (
	// TimestampFormat is the CRI log's timestamp: RFC 3339 with nanoseconds, always 9 digits.
	TimestampFormat = "2006-01-02T15:04:05.000000000Z07:00"
	// MaxLogLine is the longest chunk written as one log line, as containerd's.
	MaxLogLine = 16 * 1024
	// RotatedTimeFormat is the suffix of a rotated log file, as the kubelet's: 0.log.20261126-100000.
	RotatedTimeFormat = "20060102-150405"

	// DefaultLogMaxSize and DefaultLogMaxFiles are the kubelet's containerLogMaxSize and
	// containerLogMaxFiles defaults.
	DefaultLogMaxSize  = 10 << 20
	DefaultLogMaxFiles = 5
)

// Log tags.
const (
	TagFull    = "F"
	TagPartial = "P"
)

// LogWriter writes one container attempt's CRI log file and rotates it by size: when the file
// has grown past maxSize it is renamed to <path>.<RotatedTimeFormat> and a new one started, and
// only the newest maxFiles files (the current one included) are kept. It is safe for concurrent
// use by the stdout and stderr copiers.
type LogWriter struct {
	path     string
	maxSize  int64
	maxFiles int
	now      func() time.Time

	mu   sync.Mutex
	f    *os.File
	size int64
	buf  []byte
}

// OpenLog opens (appending to) the log file at path. maxSize <= 0 and maxFiles <= 0 mean the
// defaults; maxFiles is at least 2.
func OpenLog(path string, maxSize int64, maxFiles int, now func() time.Time) (*LogWriter, error) {
	if maxSize <= 0 {
		maxSize = DefaultLogMaxSize
	}
	if maxFiles <= 0 {
		maxFiles = DefaultLogMaxFiles
	}
	if maxFiles < 2 {
		maxFiles = 2
	}
	if now == nil {
		now = time.Now
	}
	l := &LogWriter{path: path, maxSize: maxSize, maxFiles: maxFiles, now: now}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *LogWriter) open() error {
	if err := os.MkdirAll(filepath.Dir(l.path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.f, l.size = f, st.Size()
	return nil
}

// WriteLine writes one log line.
func (l *LogWriter) WriteLine(stream string, partial bool, msg []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return os.ErrClosed
	}
	tag := TagFull
	if partial {
		tag = TagPartial
	}
	l.buf = l.buf[:0]
	l.buf = l.now().UTC().AppendFormat(l.buf, TimestampFormat)
	l.buf = append(l.buf, ' ')
	l.buf = append(l.buf, stream...)
	l.buf = append(l.buf, ' ')
	l.buf = append(l.buf, tag...)
	l.buf = append(l.buf, ' ')
	l.buf = append(l.buf, msg...)
	l.buf = append(l.buf, '\n')
	n, err := l.f.Write(l.buf)
	l.size += int64(n)
	if err != nil {
		return err
	}
	if l.size >= l.maxSize {
		return l.rotate()
	}
	return nil
}

// rotate renames the current file and starts a new one; l.mu is held.
func (l *LogWriter) rotate() error {
	if err := l.f.Close(); err != nil {
		return err
	}
	l.f = nil
	base := l.path + "." + l.now().UTC().Format(RotatedTimeFormat)
	name := base
	for i := 1; ; i++ {
		if _, err := os.Lstat(name); errors.Is(err, os.ErrNotExist) {
			break
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
	if err := os.Rename(l.path, name); err != nil {
		return err
	}
	rotated, err := RotatedLogs(l.path)
	if err != nil {
		return err
	}
	for len(rotated) > l.maxFiles-1 {
		os.Remove(rotated[0])
		rotated = rotated[1:]
	}
	return l.open()
}

// Close closes the file.
func (l *LogWriter) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Copy writes what r yields as log lines of stream until r ends: a line per newline, a partial
// line per MaxLogLine bytes without one, and what is left at the end as a full line.
func (l *LogWriter) Copy(stream string, r io.Reader) error {
	br := bufio.NewReaderSize(r, MaxLogLine)
	for {
		line, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			line = bytes.TrimSuffix(line[:len(line)-1], []byte{'\r'})
			if werr := l.WriteLine(stream, false, line); werr != nil {
				return werr
			}
		case errors.Is(err, bufio.ErrBufferFull):
			if werr := l.WriteLine(stream, true, line); werr != nil {
				return werr
			}
		default:
			if len(line) > 0 {
				if werr := l.WriteLine(stream, false, line); werr != nil {
					return werr
				}
			}
			if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) {
				return nil
			}
			return err
		}
	}
}

// RotatedLogs returns the rotated files of the log at path, oldest first.
func RotatedLogs(path string) ([]string, error) {
	matches, err := filepath.Glob(globEscape(path) + ".*")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range matches {
		suffix := strings.TrimPrefix(m, path+".")
		if len(suffix) >= len(RotatedTimeFormat) && !strings.HasSuffix(suffix, ".tmp") {
			if _, err := time.Parse(RotatedTimeFormat, suffix[:len(RotatedTimeFormat)]); err == nil {
				out = append(out, m)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

func globEscape(s string) string {
	r := strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`)
	return r.Replace(s)
}

// LogLine is one parsed CRI log line.
type LogLine struct {
	Time    time.Time
	Stream  string
	Partial bool
	Msg     []byte
}

// ParseLogLine parses one CRI log line (without its newline).
func ParseLogLine(line []byte) (LogLine, error) {
	var ll LogLine
	ts, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return ll, fmt.Errorf("log line %q: no timestamp", line)
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return ll, fmt.Errorf("log line %q: %w", line, err)
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok || (string(stream) != "stdout" && string(stream) != "stderr") {
		return ll, fmt.Errorf("log line %q: no stream", line)
	}
	tag, msg, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		// An empty message may be written without its separator.
		tag, msg = rest, nil
	}
	ll.Time, ll.Stream, ll.Msg = t, string(stream), msg
	switch string(tag) {
	case TagFull:
	case TagPartial:
		ll.Partial = true
	default:
		return ll, fmt.Errorf("log line %q: tag %q", line, tag)
	}
	return ll, nil
}

// ReadLogs writes the messages of the log at path (its rotated files first) whose time is not
// before since to w, as the container wrote them: full lines end with a newline, partial ones
// are joined to what follows.
func ReadLogs(path string, since time.Time, w io.Writer) error {
	files, err := RotatedLogs(path)
	if err != nil {
		return err
	}
	files = append(files, path)
	for _, name := range files {
		if err := readLogFile(name, since, w); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // rotated away meanwhile
			}
			return err
		}
	}
	return nil
}

func readLogFile(name string, since time.Time, w io.Writer) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64*1024)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			ll, perr := ParseLogLine(line[:len(line)-1])
			if perr == nil && !ll.Time.Before(since) {
				if !ll.Partial {
					ll.Msg = append(ll.Msg, '\n')
				}
				if _, werr := w.Write(ll.Msg); werr != nil {
					return werr
				}
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil // an unfinished last line is still being written
			}
			return err
		}
	}
}
