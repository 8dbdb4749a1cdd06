// Command faxload measures a running faxservice: it answers T.38 calls on
// a loopback port (point the service's peers at it), creates a sender
// with the admin token, submits N faxes with C submitters at once, and
// reports throughput, submit and delivery latency percentiles, and
// failures (API errors, faxes not delivered, faxes received more or less
// than once).
//
//	go run ./examples/faxservice -config load.json   # peers: {"+1": "127.0.0.1:4100"}
//	go run ./examples/faxload -api https://127.0.0.1:8443 -admin $BOOTSTRAP_ADMIN_TOKEN -n 200 -c 20
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faxkit/faxkit"
	"github.com/faxkit/faxkit/tiff"
	"github.com/faxkit/faxkit/transport"
)

func main() {
	api := flag.String("api", "https://127.0.0.1:8443", "faxservice API base URL")
	admin := flag.String("admin", os.Getenv("BOOTSTRAP_ADMIN_TOKEN"), "admin token (creates the sender)")
	listen := flag.String("listen", "127.0.0.1:4100", "loopback UDP address answering the service's calls")
	n := flag.Int("n", 100, "faxes to send")
	c := flag.Int("c", 10, "concurrent submitters")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up waiting after this long")
	paced := flag.Bool("paced", false, "pace the receiver in real time (as a gateway would); set the service's unpaced to match")
	flag.Parse()
	if err := run(*api, *admin, *listen, *n, *c, *timeout, *paced); err != nil {
		fmt.Fprintln(os.Stderr, "faxload:", err)
		os.Exit(1)
	}
}

type client struct {
	base string
	http *http.Client
}

func (cl *client) do(method, path, tok, ct string, body []byte, out any) (int, error) {
	req, err := http.NewRequest(method, cl.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := cl.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, err
		}
	}
	return resp.StatusCode, nil
}

// page is fax i's content: a small synthetic image with a mark in a
// position of its own (no PHI), and the hash of its fax page.
func page(i int) ([]byte, [32]byte, error) {
	img := image.NewGray(image.Rect(0, 0, 400, 560))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	x, y := 10+(i%30)*12, 10+(i/30%40)*13
	draw.Draw(img, image.Rect(x, y, x+10, y+11), image.NewUniform(color.Black), image.Point{}, draw.Src)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, [32]byte{}, err
	}
	pages, err := tiff.ToFax(img, &tiff.ConvertConfig{AutoRotate: true})
	if err != nil {
		return nil, [32]byte{}, err
	}
	h := sha256.New()
	for _, p := range pages {
		h.Write(p.Pix)
	}
	return b.Bytes(), [32]byte(h.Sum(nil)), nil
}

func run(api, admin, listen string, n, conc int, timeout time.Duration, paced bool) error {
	ropts := faxkit.Options{Timeout: 2 * time.Minute, T38: faxkit.T38Options{Pacing: faxkit.Unpaced}}
	if paced {
		ropts.T38.Pacing = faxkit.RealTime
	}
	if admin == "" {
		return fmt.Errorf("-admin (or $BOOTSTRAP_ADMIN_TOKEN) is required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cl := &client{base: api, http: &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, MaxIdleConnsPerHost: conc}}} // loopback, self-signed

	// The receiver.
	l, err := transport.Listen("udp", listen, &transport.ListenConfig{QueueLen: 1024})
	if err != nil {
		return err
	}
	defer l.Close()
	var mu sync.Mutex
	received := map[[32]byte]int{}
	var calls, failedCalls atomic.Int64
	go func() {
		for {
			cn, err := l.Accept(ctx)
			if err != nil {
				return
			}
			go func() {
				defer cn.Close()
				var buf bytes.Buffer
				w, _ := tiff.NewWriter(&buf, nil)
				rep, err := faxkit.Receive(ctx, cn, cn.RemoteAddr(), w, &ropts)
				w.Close()
				calls.Add(1)
				if err != nil || !rep.OK {
					failedCalls.Add(1)
					return
				}
				r, err := tiff.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil)
				if err != nil {
					return
				}
				h := sha256.New()
				for p, err := range r.Pages() {
					if err != nil {
						return
					}
					bm, err := p.Bitmap()
					if err != nil {
						return
					}
					h.Write(bm.Pix)
				}
				mu.Lock()
				received[[32]byte(h.Sum(nil))]++
				mu.Unlock()
			}()
		}
	}()

	// A sender of our own.
	var u struct{ ID string }
	name := fmt.Sprintf("load%d", time.Now().UnixNano()%1e9)
	if code, err := cl.do("POST", "/v1/users", admin, "application/json", []byte(`{"name":"`+name+`","roles":["sender"]}`), &u); err != nil || code != 201 {
		return fmt.Errorf("creating the sender: HTTP %d %v", code, err)
	}
	var tk struct{ Token string }
	if code, err := cl.do("POST", "/v1/users/"+u.ID+"/tokens", admin, "", nil, &tk); err != nil || code != 201 {
		return fmt.Errorf("issuing a token: HTTP %d %v", code, err)
	}

	type result struct {
		id        string
		hash      [32]byte
		submitted time.Time
		submit    time.Duration
		done      time.Duration
		status    string
		err       error
	}
	results := make([]result, n)
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				r := &results[i]
				img, h, err := page(i)
				if err != nil {
					r.err = err
					continue
				}
				r.hash = h
				var body bytes.Buffer
				mw := multipart.NewWriter(&body)
				mw.WriteField("to", fmt.Sprintf("+1555%07d", i))
				fw, _ := mw.CreateFormFile("file", "page.png")
				fw.Write(img)
				mw.Close()
				t0 := time.Now()
				var st struct{ ID, Status string }
				code, err := cl.do("POST", "/v1/faxes", tk.Token, mw.FormDataContentType(), body.Bytes(), &st)
				r.submitted, r.submit = t0, time.Since(t0)
				if err != nil || code != 202 {
					r.err = fmt.Errorf("submit: HTTP %d %v", code, err)
					continue
				}
				r.id = st.ID
			}
		}()
	}
	wg.Wait()
	submitted := time.Since(start)

	// Poll until every fax has finished.
	pending := 0
	for {
		pending = 0
		for i := range results {
			r := &results[i]
			if r.err != nil || r.status == "delivered" || r.status == "failed" || r.status == "cancelled" {
				continue
			}
			var st struct{ Status string }
			if code, err := cl.do("GET", "/v1/faxes/"+r.id, tk.Token, "", nil, &st); err == nil && code == 200 {
				r.status = st.Status
				if st.Status == "delivered" || st.Status == "failed" || st.Status == "cancelled" {
					r.done = time.Since(r.submitted)
					continue
				}
			}
			pending++
		}
		if pending == 0 || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	elapsed := time.Since(start)
	time.Sleep(time.Second) // let the last receptions finish

	var subLat, doneLat []time.Duration
	var apiErr, notDelivered, dup, missing int
	mu.Lock()
	for _, r := range results {
		if r.err != nil {
			apiErr++
			continue
		}
		subLat = append(subLat, r.submit)
		if r.status != "delivered" {
			notDelivered++
			continue
		}
		doneLat = append(doneLat, r.done)
		switch received[r.hash] {
		case 0:
			missing++
		case 1:
		default:
			dup++
		}
	}
	mu.Unlock()
	fmt.Printf("faxes %d, submitters %d: submitted in %v (%.1f/s), all finished in %v (%.1f faxes/s)\n",
		n, conc, submitted.Round(time.Millisecond), float64(n)/submitted.Seconds(), elapsed.Round(time.Millisecond), float64(len(doneLat))/elapsed.Seconds())
	fmt.Printf("submit latency   %s\n", pct(subLat))
	fmt.Printf("delivery latency %s\n", pct(doneLat))
	fmt.Printf("failures: api %d, not delivered %d (pending %d), receiver missing %d, duplicated %d; calls answered %d (%d not ok)\n",
		apiErr, notDelivered, pending, missing, dup, calls.Load(), failedCalls.Load())
	if apiErr+notDelivered+missing+dup > 0 {
		return fmt.Errorf("%d failures", apiErr+notDelivered+missing+dup)
	}
	return nil
}

func pct(d []time.Duration) string {
	if len(d) == 0 {
		return "n/a"
	}
	slices.Sort(d)
	p := func(q float64) time.Duration { return d[min(len(d)-1, int(q*float64(len(d))))].Round(time.Millisecond) }
	return fmt.Sprintf("p50 %v  p90 %v  p99 %v  max %v", p(0.5), p(0.9), p(0.99), d[len(d)-1].Round(time.Millisecond))
}
