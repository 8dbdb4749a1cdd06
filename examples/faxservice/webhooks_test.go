package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faxkit/faxkit/examples/faxservice/webhook"
)

type hookSink struct {
	mu     sync.Mutex
	events map[string][]Event // by webhook secret's owner label
	seen   map[string]int     // event ID -> deliveries
	fail   int                // answer 500 to this many requests first
	bad    int                // signature failures
}

// TestWebhooks registers endpoints for a sender and an inbox user and
// checks that every event arrives signed, once per ID, in seq order per
// fax, and that a failing endpoint is retried with back-off until it
// answers.
func TestWebhooks(t *testing.T) {
	e := newEnv(t, nil)
	_, alice := e.user("alice", "sender")
	bobID, bob := e.user("bob", "inbox")
	require.Equal(t, http.StatusOK, e.json("PUT", "/v1/routes/default", e.admin, map[string]any{"targets": []string{bobID}}, nil))

	sink := &hookSink{events: map[string][]Event{}, seen: map[string]int{}, fail: 2}
	secrets := map[string]string{}
	var smu sync.Mutex
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := r.URL.Query().Get("who")
		body, _ := io.ReadAll(r.Body)
		smu.Lock()
		secret := secrets[who]
		smu.Unlock()
		sink.mu.Lock()
		defer sink.mu.Unlock()
		if err := webhook.Verify(secret, r.Header.Get(webhook.Header), body, time.Now().Add(time.Duration(e.svc.skew.Load())), 0); err != nil {
			sink.bad++
			w.WriteHeader(400)
			return
		}
		if sink.fail > 0 {
			sink.fail--
			w.WriteHeader(500)
			return
		}
		var ev Event
		require.NoError(t, json.Unmarshal(body, &ev))
		sink.seen[ev.ID]++
		sink.events[who] = append(sink.events[who], ev)
	}))
	defer srv.Close()
	e.svc.hookClient = srv.Client()

	for who, tok := range map[string]string{"alice": alice, "bob": bob} {
		var h struct{ ID, Secret string }
		require.Equal(t, http.StatusCreated, e.json("POST", "/v1/webhooks", tok, map[string]any{"url": srv.URL + "/hook?who=" + who}, &h))
		require.NotEmpty(t, h.Secret)
		smu.Lock()
		secrets[who] = h.Secret
		smu.Unlock()
	}
	require.Equal(t, http.StatusBadRequest, e.json("POST", "/v1/webhooks", alice, map[string]any{"url": "http://127.0.0.1/x"}, nil), "https only")

	doc, _ := letterTIFF(t, 1)
	code, st, _ := e.send(alice, nil, part{name: "to", data: []byte("+15550199")}, part{name: "file", file: "a.tif", data: doc})
	require.Equal(t, http.StatusAccepted, code)
	e.wait(alice, st.ID, func(s FaxStatus) bool { return s.Status == statusDelivered })

	// The first two requests fail; move the clock past the back-off.
	deadline := time.Now().Add(30 * time.Second)
	for {
		sink.mu.Lock()
		n := len(sink.events["alice"]) + len(sink.events["bob"])
		sink.mu.Unlock()
		if n == 4 {
			break
		}
		require.True(t, time.Now().Before(deadline), "webhooks not all delivered: %d", n)
		e.svc.skew.Add(int64(5 * time.Second))
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	require.Zero(t, sink.bad)
	var types []string
	for i, ev := range sink.events["alice"] {
		require.Equal(t, st.ID, ev.FaxID)
		require.Equal(t, i+1, ev.Seq, "in order")
		types = append(types, ev.Type)
	}
	require.Equal(t, []string{"fax.queued", "fax.sending", "fax.delivered"}, types)
	require.Len(t, sink.events["bob"], 1)
	require.Equal(t, "fax.received", sink.events["bob"][0].Type)
	for id, n := range sink.seen {
		require.Equal(t, 1, n, "event %s delivered once after success", id)
	}
	var attempts int
	require.NoError(t, e.svc.db.queryRow(t.Context(), `SELECT MAX(attempts) FROM deliveries`).Scan(&attempts))
	require.GreaterOrEqual(t, attempts, 2, "a failed delivery was retried")
}

func TestWebhookBackoff(t *testing.T) {
	require.Equal(t, 10*time.Second, webhookBackoff(1))
	require.Equal(t, 20*time.Second, webhookBackoff(2))
	require.Equal(t, time.Hour, webhookBackoff(20))
	// Over 72 h at most an hour apart: at least 70 attempts in the window.
	var total time.Duration
	n := 0
	for total < 72*time.Hour {
		n++
		total += webhookBackoff(n)
	}
	require.Greater(t, n, 70)
}
