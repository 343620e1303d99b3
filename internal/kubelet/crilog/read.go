package crilog

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RotatedTimeFormat is the suffix of a rotated log file (<file>.20261126-100000, with -N added
// when two rotations fall in one second), as skiff's shim and upstream's kubelet name them.
const RotatedTimeFormat = "20060102-150405"

// DefaultPollInterval is how often a followed log is checked for new lines.
const DefaultPollInterval = 100 * time.Millisecond

// Options select what Read writes, as a pod's log subresource asks.
type Options struct {
	// Since, if not zero, skips the lines of output older than it.
	Since time.Time
	// Tail, if not negative, starts that many lines of output before the end.
	Tail int64
	// LimitBytes, if positive, stops after writing that many bytes.
	LimitBytes int64
	// Timestamps prefixes each line of output with its time and a space.
	Timestamps bool
	// Follow keeps writing what is added to the log, through rotations, until ctx ends or,
	// once Running returns false, the end of the log is reached.
	Follow bool
	// Running reports whether the container still writes to the log; nil means until ctx ends.
	Running func() bool
	// PollInterval is how often a followed log is checked (default DefaultPollInterval).
	PollInterval time.Duration
}

// errLimit ends a Read whose LimitBytes is reached.
var errLimit = errors.New("log limit reached")

// Read writes the log at path (after its rotated files) to w as the container wrote it,
// selected by opts. It returns nil at the end of the log (or of following it), once the
// limit is reached, or when ctx ends while following.
func Read(ctx context.Context, path string, opts Options, w io.Writer) error {
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	files, err := RotatedLogs(path)
	if err != nil {
		return err
	}
	files = append(files, path)
	first, offset := 0, int64(0)
	if opts.Tail >= 0 {
		if first, offset, err = tailStart(files, opts.Tail); err != nil {
			return err
		}
	}
	p := &printer{w: w, opts: opts, remaining: opts.LimitBytes, inLine: map[string]bool{}, skip: map[string]bool{}}
	// Rotated files are complete: read them to their end.
	for i := first; i < len(files)-1; i++ {
		if i > first {
			offset = 0
		}
		if err := readFile(files[i], offset, p); err != nil {
			if errors.Is(err, errLimit) {
				return nil
			}
			if !errors.Is(err, os.ErrNotExist) { // rotated away meanwhile
				return err
			}
		}
	}
	if first < len(files)-1 {
		offset = 0
	}
	err = readCurrent(ctx, path, offset, p)
	if errors.Is(err, errLimit) {
		return nil
	}
	return err
}

// readFile writes a whole (rotated) file from offset.
func readFile(name string, offset int64, p *printer) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	lr, err := newLineReader(f, offset)
	if err != nil {
		return err
	}
	for {
		line, err := lr.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if err := p.line(line); err != nil {
			return err
		}
	}
}

// readCurrent writes the current file from offset and, if following, what is added to it,
// reopening the path when the file is rotated.
func readCurrent(ctx context.Context, path string, offset int64, p *printer) error {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && p.opts.Follow {
			// Rotated between listing and opening, or not created yet: wait for it.
			f, err = waitForFile(ctx, path, p.opts)
			offset = 0
		}
		if err != nil || f == nil {
			return ignoreCancel(err)
		}
	}
	defer func() { f.Close() }()
	lr, err := newLineReader(f, offset)
	if err != nil {
		return err
	}
	drain := func() error {
		for {
			line, err := lr.next()
			if err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
			if err := p.line(line); err != nil {
				return err
			}
		}
	}
	if err := drain(); err != nil || !p.opts.Follow {
		return err
	}
	ticker := time.NewTicker(p.opts.PollInterval)
	defer ticker.Stop()
	for {
		running := p.opts.Running == nil || p.opts.Running()
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		if err := drain(); err != nil {
			return err
		}
		rotated, truncated, err := changed(f, path, lr.offset)
		if err != nil {
			return err
		}
		switch {
		case rotated:
			// Whatever was written before the rename has been drained; continue in the new file.
			nf, err := waitForFile(ctx, path, p.opts)
			if err != nil || nf == nil {
				return ignoreCancel(err)
			}
			f.Close()
			f = nf
			if lr, err = newLineReader(f, 0); err != nil {
				return err
			}
		case truncated:
			if lr, err = newLineReader(f, 0); err != nil {
				return err
			}
		case !running:
			// The container had exited before this last drain: nothing more will come.
			return nil
		}
	}
}

// changed reports whether the file at path is no longer f (rotated), or is shorter than what
// was read of it (truncated).
func changed(f *os.File, path string, offset int64) (rotated, truncated bool, err error) {
	cur, err := f.Stat()
	if err != nil {
		return false, false, err
	}
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return true, false, nil
	}
	if err != nil {
		return false, false, err
	}
	if !os.SameFile(cur, st) {
		return true, false, nil
	}
	return false, cur.Size() < offset, nil
}

// waitForFile opens path once it exists; it returns nil, nil when ctx ends first, or when the
// container has stopped and no file came.
func waitForFile(ctx context.Context, path string, opts Options) (*os.File, error) {
	for {
		f, err := os.Open(path)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if opts.Running != nil && !opts.Running() {
			return nil, nil
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(opts.PollInterval):
		}
	}
}

func ignoreCancel(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// lineReader yields the complete lines of a file from an offset, holding back a last line
// whose newline has not been written yet.
type lineReader struct {
	br      *bufio.Reader
	pending []byte
	// offset is where in the file the next complete line starts.
	offset int64
}

func newLineReader(f *os.File, offset int64) (*lineReader, error) {
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	return &lineReader{br: bufio.NewReaderSize(f, 64<<10), offset: offset}, nil
}

// next returns the next complete line without its newline, or io.EOF. After io.EOF it may be
// called again to pick up what was appended meanwhile. The line is valid until the next call.
func (r *lineReader) next() ([]byte, error) {
	for {
		chunk, err := r.br.ReadSlice('\n')
		switch {
		case err == nil:
			line := chunk
			if len(r.pending) > 0 {
				r.pending = append(r.pending, chunk...)
				line, r.pending = r.pending, r.pending[:0]
			}
			r.offset += int64(len(line))
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			r.pending = append(r.pending, chunk...)
		case errors.Is(err, io.EOF):
			// A line still being written: keep its start for the next call.
			r.pending = append(r.pending, chunk...)
			return nil, io.EOF
		default:
			return nil, err
		}
	}
}

// printer turns log lines into output.
type printer struct {
	w         io.Writer
	opts      Options
	remaining int64 // bytes left under LimitBytes (when positive)
	// inLine[stream] is true after a P piece of stream; skip[stream], while the line of output it
	// belongs to is filtered out by Since.
	inLine, skip map[string]bool
	buf          []byte
}

// line writes one raw log line; malformed lines are skipped, as upstream's kubelet does.
func (p *printer) line(raw []byte) error {
	l, err := Parse(raw)
	if err != nil {
		return nil
	}
	p.buf = p.buf[:0]
	if !p.inLine[l.Stream] {
		p.skip[l.Stream] = !p.opts.Since.IsZero() && l.Time.Before(p.opts.Since)
		if !p.skip[l.Stream] && p.opts.Timestamps {
			p.buf = l.Time.UTC().AppendFormat(p.buf, TimestampFormat)
			p.buf = append(p.buf, ' ')
		}
	}
	p.inLine[l.Stream] = l.Partial
	if p.skip[l.Stream] {
		return nil
	}
	p.buf = append(p.buf, l.Msg...)
	if !l.Partial {
		p.buf = append(p.buf, '\n')
	}
	return p.write(p.buf)
}

func (p *printer) write(b []byte) error {
	if p.opts.LimitBytes > 0 {
		if int64(len(b)) >= p.remaining {
			_, err := p.w.Write(b[:p.remaining])
			p.remaining = 0
			if err != nil {
				return err
			}
			return errLimit
		}
		p.remaining -= int64(len(b))
	}
	_, err := p.w.Write(b)
	return err
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
		if len(suffix) < len(RotatedTimeFormat) || strings.HasSuffix(suffix, ".tmp") || strings.HasSuffix(suffix, ".gz") {
			continue
		}
		if _, err := time.Parse(RotatedTimeFormat, suffix[:len(RotatedTimeFormat)]); err == nil {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return rotationLess(out[i], out[j]) })
	return out, nil
}

// rotationLess orders rotated file names by their time, then by their -N suffix.
func rotationLess(a, b string) bool {
	ta, na := rotationKey(a)
	tb, nb := rotationKey(b)
	if ta != tb {
		return ta < tb
	}
	return na < nb
}

// rotationKey splits a rotated name into its time suffix and its -N number (0 without one).
func rotationKey(name string) (string, int) {
	i := strings.LastIndexByte(name, '.')
	suffix := name[i+1:]
	if len(suffix) < len(RotatedTimeFormat) {
		return suffix, 0
	}
	t, rest := suffix[:len(RotatedTimeFormat)], strings.TrimPrefix(suffix[len(RotatedTimeFormat):], "-")
	n, _ := strconv.Atoi(rest)
	return t, n
}

func globEscape(s string) string {
	return strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`).Replace(s)
}
