// Package crilog reads and writes container logs in the CRI format that containerd, CRI-O and
// skiff's shim write and that the kubelet serves to `kubectl logs`:
//
//	2026-11-26T10:00:00.123456789Z stdout F a line of output
//	2026-11-26T10:00:00.123456789Z stderr P the first 16 KiB of a longer line...
//	2026-11-26T10:00:00.123500000Z stderr F ...and its end
//
// One log line per chunk of output: a timestamp (RFC 3339 with nanoseconds), the stream, a tag
// (F ends a line of output, whose newline is not written; P is a piece of a longer line that
// the next pieces of the same stream continue) and the text. A container attempt's log is one
// file, <LogDir>/<namespace>_<pod>_<uid>/<container>/<attempt>.log, rotated by size to
// <file>.<20060102-150405>[-N] files that Read reads first.
//
// Read turns a log back into what the container wrote, with the options of a pod's log
// subresource (tailLines, sinceTime, limitBytes, timestamps, follow). Tail counts lines of
// output, a line split into P pieces being one line (upstream's kubelet counts file lines);
// timestamps prefix each line of output once, with the time of its first piece; since keeps
// the lines of output whose first piece is not older.
package crilog

import (
	"bytes"
	"fmt"
	"time"
)

// TimestampFormat is the log's and `kubectl logs --timestamps`' time format: RFC 3339 with
// nanoseconds, always nine digits.
const TimestampFormat = "2006-01-02T15:04:05.000000000Z07:00"

// Streams and tags.
const (
	Stdout     = "stdout"
	Stderr     = "stderr"
	TagFull    = "F"
	TagPartial = "P"
)

// Line is one parsed log line.
type Line struct {
	Time   time.Time
	Stream string
	// Partial is true for a P piece: the next piece of the stream continues it.
	Partial bool
	// Msg is the text, without the newline (which a full line implies).
	Msg []byte
}

// Parse parses one log line, without its newline. Msg aliases line.
func Parse(line []byte) (Line, error) {
	var l Line
	ts, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return l, fmt.Errorf("log line %.40q: no timestamp", line)
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return l, fmt.Errorf("log line %.40q: timestamp: %w", line, err)
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok || (string(stream) != Stdout && string(stream) != Stderr) {
		return l, fmt.Errorf("log line %.40q: no stream", line)
	}
	tag, msg, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		// An empty message may come without its separator.
		tag, msg = rest, nil
	}
	switch string(tag) {
	case TagFull:
	case TagPartial:
		l.Partial = true
	default:
		return l, fmt.Errorf("log line %.40q: unknown tag %q", line, tag)
	}
	l.Time, l.Stream, l.Msg = t, string(stream), msg
	return l, nil
}

// Append appends l to dst as a log line, with its newline. Msg must not contain a newline.
func Append(dst []byte, l Line) []byte {
	dst = l.Time.UTC().AppendFormat(dst, TimestampFormat)
	dst = append(dst, ' ')
	dst = append(dst, l.Stream...)
	if l.Partial {
		dst = append(dst, " P "...)
	} else {
		dst = append(dst, " F "...)
	}
	dst = append(dst, l.Msg...)
	return append(dst, '\n')
}

// isFull reports whether a raw log line is a well-formed F line, for tail's backward scan.
func isFull(line []byte) bool {
	l, err := Parse(line)
	return err == nil && !l.Partial
}
