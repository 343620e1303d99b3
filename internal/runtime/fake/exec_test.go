package fake

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestRunCommand(t *testing.T) {
	cases := []struct {
		cmd              []string
		stdin            string
		wantOut, wantErr string
		wantCode         int
	}{
		{cmd: []string{"echo", "hi", "there"}, wantOut: "hi there\n"},
		{cmd: []string{"stderr", "oops"}, wantErr: "oops\n"},
		{cmd: []string{"cat"}, stdin: "in\n", wantOut: "in\n"},
		{cmd: []string{"true"}},
		{cmd: []string{"false"}, wantCode: 1},
		{cmd: []string{"exit", "7"}, wantCode: 7},
		{cmd: []string{"sh", "-c", "exit 3"}, wantCode: 3},
		{cmd: []string{"exit", "nope"}, wantCode: 2},
		{cmd: []string{"sleep", "0.01"}},
		{cmd: []string{"ls", "-l"}}, // anything else succeeds silently
	}
	for _, c := range cases {
		t.Run(strings.Join(c.cmd, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code, err := runCommand(context.Background(), c.cmd, strings.NewReader(c.stdin), &out, &errOut, nil)
			if err != nil || code != c.wantCode || out.String() != c.wantOut || errOut.String() != c.wantErr {
				t.Errorf("= %d %v, %q %q; want %d, %q %q", code, err, out.String(), errOut.String(), c.wantCode, c.wantOut, c.wantErr)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if code, _ := runCommand(ctx, []string{"sleep", "60"}, nil, &bytes.Buffer{}, &bytes.Buffer{}, nil); code != 137 {
		t.Errorf("cancelled sleep: %d", code)
	}
	sizes := make(chan [2]uint16, 1)
	sizes <- [2]uint16{80, 24}
	var out bytes.Buffer
	if code, _ := runCommand(context.Background(), []string{"ttysize"}, nil, &out, &out, sizes); code != 0 || out.String() != "80x24\n" {
		t.Errorf("ttysize: %d %q", code, out.String())
	}
}

func TestLogFile(t *testing.T) {
	ctx := context.Background()
	clk := clocktesting.NewFakeClock(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	r := New(clk, WithLogDir(dir))
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "u1",
		Annotations: map[string]string{AnnotationPrefix + "log.c": "a\nb"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}}
	if _, err := r.CreateSandbox(ctx, pod, []string{"10.0.0.0/24"}); err != nil {
		t.Fatal(err)
	}
	id, _ := r.CreateContainer(ctx, pod, &pod.Spec.Containers[0], false, 2)
	if err := r.StartContainer(ctx, pod.UID, id); err != nil {
		t.Fatal(err)
	}
	path, err := r.ContainerLogPath(ctx, pod.UID, id)
	if want := filepath.Join(dir, "ns_p_u1", "c", "2.log"); err != nil || path != want {
		t.Fatalf("path %q %v, want %q", path, err, want)
	}
	b, _ := os.ReadFile(path)
	if want := "2026-11-26T10:00:00.000000000Z stdout F a\n2026-11-26T10:00:00.001000000Z stdout F b\n"; string(b) != want {
		t.Errorf("log file %q", b)
	}
	var out bytes.Buffer
	if err := r.Logs(ctx, pod.UID, id, time.Time{}, &out); err != nil || out.String() != "a\nb\n" {
		t.Errorf("Logs = %q %v", out.String(), err)
	}
}
