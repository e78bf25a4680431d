package emulator

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
)

// delivery is one callback POST.
type delivery struct {
	url  string
	body []byte
}

// outbox sends callbacks from one goroutine, in queue order, so the API
// answer never waits for a callback receiver.
type outbox struct {
	client *http.Client
	log    *slog.Logger

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []delivery
	held    *delivery // reorder-callbacks: sent after the next push
	busy    bool
	sent    int
	stopped bool
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
}

func (o *outbox) start(client *http.Client, log *slog.Logger) {
	o.client, o.log = client, log
	o.cond = sync.NewCond(&o.mu)
	o.ctx, o.cancel = context.WithCancel(context.Background())
	o.done = make(chan struct{})
	go o.run()
}

// push queues d; with hold, d waits until the next push (or wait).
func (o *outbox) push(d delivery, hold bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.stopped {
		return
	}
	if hold && o.held == nil {
		o.held = &d
		return
	}
	o.queue = append(o.queue, d)
	if o.held != nil && !hold {
		o.queue = append(o.queue, *o.held)
		o.held = nil
	}
	o.cond.Broadcast()
}

func (o *outbox) run() {
	defer close(o.done)
	for {
		o.mu.Lock()
		for len(o.queue) == 0 && !o.stopped {
			o.cond.Wait()
		}
		if o.stopped {
			o.mu.Unlock()
			return
		}
		d := o.queue[0]
		o.queue = o.queue[1:]
		o.busy = true
		o.sent++
		o.mu.Unlock()

		o.send(d)

		o.mu.Lock()
		o.busy = false
		o.cond.Broadcast()
		o.mu.Unlock()
	}
}

func (o *outbox) send(d delivery) {
	req, err := http.NewRequestWithContext(o.ctx, http.MethodPost, d.url, bytes.NewReader(d.body))
	if err != nil {
		o.log.Warn("cronos emulator: callback", "url", d.url, "error", err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := o.client.Do(req)
	if err != nil {
		o.log.Debug("cronos emulator: callback not delivered", "url", d.url, "error", err)
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	o.log.Debug("cronos emulator: callback delivered", "url", d.url, "status", resp.StatusCode)
}

// wait releases a held callback and waits until the queue is empty and
// nothing is being sent, or ctx ends.
func (o *outbox) wait(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.cond.Broadcast()
	})
	defer stop()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.held != nil {
		o.queue = append(o.queue, *o.held)
		o.held = nil
		o.cond.Broadcast()
	}
	for (len(o.queue) > 0 || o.busy) && !o.stopped {
		if err := ctx.Err(); err != nil {
			return err
		}
		o.cond.Wait()
	}
	return nil
}

func (o *outbox) sentCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.sent
}

// stop drops queued callbacks, cancels the one being sent and waits for
// the sender to end.
func (o *outbox) stop() {
	o.mu.Lock()
	if o.stopped {
		o.mu.Unlock()
		return
	}
	o.stopped = true
	o.queue, o.held = nil, nil
	o.cond.Broadcast()
	o.mu.Unlock()
	o.cancel()
	<-o.done
}
