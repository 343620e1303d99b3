package crilog

import (
	"bytes"
	"errors"
	"io"
	"os"
)

// tailBlock is how much of a file the backward scan reads at a time.
const tailBlock = 32 << 10

// tailStart finds where the last n lines of output of the log made of files (oldest first)
// begin: the index of a file and an offset in it. A line of output ends with an F line, so it
// begins after the (n+1)-th F line from the end; the scan goes back through older files until
// it has found that many, or the first file's start.
func tailStart(files []string, n int64) (int, int64, error) {
	need := n + 1
	for i := len(files) - 1; i >= 0; i-- {
		off, found, err := tailFile(files[i], need)
		if errors.Is(err, os.ErrNotExist) {
			if i == len(files)-1 {
				return i, 0, nil // not created yet
			}
			return i + 1, 0, nil // rotated away: start at the next one
		}
		if err != nil {
			return 0, 0, err
		}
		if found == need {
			return i, off, nil
		}
		need -= found
	}
	return 0, 0, nil
}

// tailFile scans the file backwards for the need-th F line from its end and returns the
// offset just after it, and need; or, with fewer F lines, offset 0 and how many there are. A
// last line without its newline is still being written and is not counted.
func tailFile(name string, need int64) (int64, int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	return scanBack(f, st.Size(), need)
}

// scanBack is tailFile on any io.ReaderAt of the given size.
func scanBack(r io.ReaderAt, size int64, need int64) (int64, int64, error) {
	var found int64
	// end is where the complete line being assembled ends (just after its newline); line holds
	// its bytes seen so far (a suffix), when it spans blocks.
	end := int64(-1)
	var line []byte
	buf := make([]byte, tailBlock)
	for pos := size; pos > 0; {
		start := max(pos-tailBlock, 0)
		b := buf[:pos-start]
		if _, err := r.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, 0, err
		}
		for len(b) > 0 {
			i := bytes.LastIndexByte(b, '\n')
			if i < 0 {
				if end >= 0 {
					line = append(append([]byte(nil), b...), line...)
				}
				break
			}
			nl := start + int64(i) // a newline: it ends the line before it and starts the one after
			if end >= 0 {
				l := append(append([]byte(nil), b[i+1:]...), line...)
				if isFull(l) {
					found++
					if found == need {
						return end, found, nil
					}
				}
			}
			end, line = nl+1, nil
			b = b[:i]
		}
		pos = start
	}
	if end >= 0 && len(line) > 0 && isFull(line) {
		found++
		if found == need {
			return end, found, nil
		}
	}
	return 0, found, nil
}
