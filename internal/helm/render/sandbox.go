package render

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Why a child process: Go cannot stop a goroutine, and a chart's
// templates are a program (an `include` that calls itself twice per level
// runs for ever; `repeat` builds a string of any size). Helm bounds only
// the nesting depth of `include`. A child process can be killed, and can
// be given a memory ceiling the kernel enforces, so a render that runs
// away costs its budget and nothing more. The child is this same program:
// nothing from the chart or the repository is ever executed.

// WorkerEnv, set to "1" in a process's environment, makes IsWorker true:
// the program should serve renders on its standard streams (ServeWorker)
// instead of doing what it normally does.
const WorkerEnv = "GEN_HELM_RENDER_WORKER"

// workerMemoryEnv and workerTimeEnv carry the budgets to the worker.
const (
	workerMemoryEnv = "GEN_HELM_RENDER_MEMORY"
	workerTimeEnv   = "GEN_HELM_RENDER_TIME"
)

// IsWorker says whether this process was started as a render worker.
func IsWorker() bool { return os.Getenv(WorkerEnv) == "1" }

// Limits bound one render in a Sandbox.
type Limits struct {
	// Time is the longest a render may take, wall clock.
	Time time.Duration
	// Memory is the most heap a worker may hold while rendering.
	Memory int64
	// Output is the largest result, in bytes of its encoding.
	Output int64
}

// DefaultLimits: app-template renders in a few milliseconds and a few MB;
// the largest public charts (kube-prometheus-stack) in well under a second
// and a hundred MB.
func DefaultLimits() Limits {
	return Limits{Time: 30 * time.Second, Memory: 1 << 30, Output: 64 << 20}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.Time > 0 {
		d.Time = l.Time
	}
	if l.Memory > 0 {
		d.Memory = l.Memory
	}
	if l.Output > 0 {
		d.Output = l.Output
	}
	return d
}

// SandboxOptions configure a Sandbox.
type SandboxOptions struct {
	Limits Limits
	// Workers is the most renders at once; GOMAXPROCS when zero.
	Workers int
	// Program is the executable started as a worker; this program
	// (os.Executable) when empty. It must call ServeWorker when IsWorker.
	Program string
}

// Sandbox renders in worker processes, each render within Limits. It is
// safe for concurrent use; workers are started on demand and reused.
type Sandbox struct {
	limits  Limits
	program string
	slots   chan struct{}

	mu     sync.Mutex
	idle   []*worker
	closed bool
}

// NewSandbox prepares a sandbox; no process starts until the first render.
func NewSandbox(opts SandboxOptions) (*Sandbox, error) {
	program := opts.Program
	if program == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding this program to start render workers: %w", err)
		}
		program = exe
	}
	n := opts.Workers
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return &Sandbox{limits: opts.Limits.withDefaults(), program: program, slots: make(chan struct{}, n)}, nil
}

// Close stops the idle workers. Renders still running finish first.
func (s *Sandbox) Close() error {
	s.mu.Lock()
	s.closed = true
	idle := s.idle
	s.idle = nil
	s.mu.Unlock()
	for _, w := range idle {
		w.stop()
	}
	return nil
}

// Render renders req in a worker. A render over its time or memory budget
// ends with an *Error of StageBudget and its worker is stopped.
func (s *Sandbox) Render(ctx context.Context, req *Request) (*Result, error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.slots }()

	frame, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encoding render request: %w", err)
	}
	w, err := s.worker()
	if err != nil {
		return nil, err
	}
	res, err, healthy := w.render(ctx, frame, s.limits)
	if healthy {
		s.release(w)
	} else {
		w.stop()
	}
	return res, err
}

func (s *Sandbox) worker() (*worker, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("render sandbox is closed")
	}
	if n := len(s.idle); n > 0 {
		w := s.idle[n-1]
		s.idle = s.idle[:n-1]
		s.mu.Unlock()
		return w, nil
	}
	s.mu.Unlock()
	return startWorker(s.program, s.limits)
}

func (s *Sandbox) release(w *worker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		go w.stop()
		return
	}
	s.idle = append(s.idle, w)
}

// worker is one child process serving renders one at a time.
type worker struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr *tail
	done   chan struct{} // closed when the process has exited
	err    error         // its exit status, once done
}

func startWorker(program string, l Limits) (*worker, error) {
	cmd := exec.Command(program)
	cmd.Env = append(os.Environ(), WorkerEnv+"=1",
		workerMemoryEnv+"="+strconv.FormatInt(l.Memory, 10),
		workerTimeEnv+"="+l.Time.String())
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	w := &worker{cmd: cmd, in: in, out: bufio.NewReader(out), stderr: &tail{max: 4 << 10}, done: make(chan struct{})}
	cmd.Stderr = w.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting a render worker: %w", err)
	}
	go func() {
		w.err = cmd.Wait()
		close(w.done)
	}()
	return w, nil
}

func (w *worker) stop() {
	_ = w.in.Close()
	select {
	case <-w.done:
		return
	case <-time.After(100 * time.Millisecond):
	}
	_ = w.cmd.Process.Kill()
	<-w.done
}

type response struct {
	Result *Result `json:"result,omitempty"`
	Error  *Error  `json:"error,omitempty"`
}

// render sends one request and waits for its answer within the limits.
// healthy says whether the worker can be used again.
func (w *worker) render(ctx context.Context, frame []byte, l Limits) (res *Result, err error, healthy bool) {
	type answer struct {
		data []byte
		err  error
	}
	answers := make(chan answer, 1)
	go func() {
		if err := writeFrame(w.in, frame); err != nil {
			answers <- answer{err: err}
			return
		}
		data, err := readFrame(w.out, l.Output)
		answers <- answer{data: data, err: err}
	}()
	timer := time.NewTimer(l.Time)
	defer timer.Stop()
	select {
	case a := <-answers:
		if a.err != nil {
			var big *outputError
			if errors.As(a.err, &big) {
				return nil, &Error{Stage: StageBudget, Msg: fmt.Sprintf("rendered output is over the %d-byte budget", l.Output)}, false
			}
			return nil, w.crashed(), false
		}
		var r response
		if err := json.Unmarshal(a.data, &r); err != nil {
			return nil, fmt.Errorf("reading a render worker's answer: %w", err), false
		}
		if r.Error != nil {
			return nil, r.Error, true
		}
		if r.Result == nil {
			return nil, errors.New("render worker answered nothing"), false
		}
		return r.Result, nil, true
	case <-timer.C:
		_ = w.cmd.Process.Kill()
		return nil, &Error{Stage: StageBudget, Msg: fmt.Sprintf("rendering took longer than %s; stopped", l.Time)}, false
	case <-ctx.Done():
		_ = w.cmd.Process.Kill()
		return nil, ctx.Err(), false
	}
}

// crashed explains why a worker died mid-render.
func (w *worker) crashed() error {
	select {
	case <-w.done:
	case <-time.After(2 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.done
	}
	msg := w.stderr.String()
	if strings.Contains(msg, memoryExceeded) || strings.Contains(msg, "out of memory") || strings.Contains(msg, "cannot allocate memory") {
		return &Error{Stage: StageBudget, Msg: "rendering used more memory than its budget; stopped"}
	}
	return fmt.Errorf("render worker failed (%v): %s", w.err, firstLine(msg))
}

// ServeWorker is a worker's whole life: it bounds its own memory, then
// answers render requests from in on out until in closes. It returns the
// process's exit code.
func ServeWorker(in io.Reader, out io.Writer) int {
	budget, _ := strconv.ParseInt(os.Getenv(workerMemoryEnv), 10, 64)
	if budget <= 0 {
		budget = DefaultLimits().Memory
	}
	boundMemory(budget)
	// The worker also keeps its own time, so that a render cannot outlive
	// a parent that died without stopping it.
	timeBudget, err := time.ParseDuration(os.Getenv(workerTimeEnv))
	if err != nil || timeBudget <= 0 {
		timeBudget = DefaultLimits().Time
	}
	r := bufio.NewReader(in)
	for {
		frame, err := readFrame(r, 1<<40)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0
			}
			fmt.Fprintln(os.Stderr, "render worker:", err)
			return 1
		}
		var resp response
		var req Request
		deadline := time.AfterFunc(timeBudget+5*time.Second, func() {
			fmt.Fprintln(os.Stderr, "render worker: time budget exceeded")
			os.Exit(4)
		})
		if err := json.Unmarshal(frame, &req); err != nil {
			resp.Error = &Error{Stage: StageRequest, Msg: fmt.Sprintf("decoding render request: %v", err)}
		} else if res, err := Render(context.Background(), &req); err != nil {
			var rerr *Error
			if !errors.As(err, &rerr) {
				rerr = &Error{Stage: StageTemplate, Msg: err.Error()}
			}
			resp.Error = rerr
		} else {
			resp.Result = res
		}
		deadline.Stop()
		data, err := json.Marshal(resp)
		if err != nil {
			data, _ = json.Marshal(response{Error: &Error{Stage: StageTemplate, Msg: err.Error()}})
		}
		if err := writeFrame(out, data); err != nil {
			return 1
		}
	}
}

const memoryExceeded = "render worker: memory budget exceeded"

// boundMemory keeps the worker within budget: the garbage collector works
// harder as the heap nears it, a watchdog ends the process when the heap
// passes it, and (where the kernel offers it) an address-space ceiling
// makes one huge allocation fail at once instead of being granted.
func boundMemory(budget int64) {
	debug.SetMemoryLimit(budget)
	limitAddressSpace(budget)
	go func() {
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(sample)
			if sample[0].Value.Kind() == metrics.KindUint64 && int64(sample[0].Value.Uint64()) > budget {
				fmt.Fprintln(os.Stderr, memoryExceeded)
				os.Exit(3)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
}

// Frames are an 8-byte big-endian length and that many bytes of JSON.

type outputError struct{ size uint64 }

func (e *outputError) Error() string { return fmt.Sprintf("frame of %d bytes is over budget", e.size) }

func writeFrame(w io.Writer, data []byte) error {
	var hdr [8]byte
	binary.BigEndian.PutUint64(hdr[:], uint64(len(data)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(data)
	return err
}

func readFrame(r io.Reader, max int64) ([]byte, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint64(hdr[:])
	if n > uint64(max) {
		return nil, &outputError{size: n}
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return data, nil
}

// tail keeps the first and the last bytes written to it: a Go runtime
// crash names its cause first and then dumps every goroutine.
type tail struct {
	mu   sync.Mutex
	max  int
	head []byte
	buf  []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	if room := t.max - len(t.head); room > 0 {
		take := min(room, len(p))
		t.head = append(t.head, p[:take]...)
		p = p[take:]
	}
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return n, nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.head) + string(t.buf)
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return "no message"
}
