// Command faxservice is a HIPAA fax service built on faxkit: an HTTPS JSON
// API (openapi.json) with users, roles, API tokens and sign-in sessions;
// uploads of PDF, TIFF, PNG and JPEG converted and sealed at once; a
// durable job queue on the database (SQLite by default) with leases, so
// that a crash or restart loses nothing and sends nothing twice; retries
// on a configurable ladder; inbound T.38 listeners routing faxes by the
// dialled number to users; default-deny access through phi.Guard with
// every decision audited.
//
//	go run ./examples/faxservice
//
// starts a development instance in a temporary directory and prints the
// bootstrap admin token and the curl commands to try it. See README.md.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/redact"
)

func main() {
	cfgPath := flag.String("config", "", "configuration file (JSON); FAXSERVICE_* environment variables override it")
	dir := flag.String("dir", "", "state directory (overrides the config's dir); default a development directory")
	backupTo := flag.String("backup", "", "write an encrypted backup (database, sealed store, audit logs) to this file and exit")
	restoreFrom := flag.String("restore", "", "restore an encrypted backup into the (empty) state directory and database, verify it, and exit")
	flag.Parse()
	cfg, err := loadConfig(*cfgPath, os.Environ())
	if err != nil {
		fmt.Fprintln(os.Stderr, "faxservice:", err)
		os.Exit(2)
	}
	if *dir != "" {
		cfg.Dir = *dir
	}
	if *backupTo != "" || *restoreFrom != "" {
		if err := backupCommand(cfg, *backupTo, *restoreFrom); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	dev := cfg.Dir == ""
	if dev {
		cfg = devConfig(cfg)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(redact.NewHandler(slog.NewTextHandler(os.Stderr, nil), nil))
	if err := run(ctx, cfg, logger, os.Stdout, dev); err != nil {
		fmt.Fprintln(os.Stderr, "faxservice:", err)
		os.Exit(1)
	}
}

// devConfig is the development instance: everything on loopback, faxes to
// +1555 numbers go to the service's own inbound port (DID +15550100).
func devConfig(c Config) Config {
	c.Dir = filepath.Join(os.TempDir(), "faxservice-dev")
	if c.Inbound == nil {
		c.Inbound = []Inbound{{Addr: "127.0.0.1:4000", DID: "+15550100"}}
	}
	if c.Peers == nil {
		c.Peers = map[string]string{"+1555": "127.0.0.1:4000"}
	}
	c.Unpaced = true
	if c.PasswordIterations == 0 {
		c.PasswordIterations = 100_000
	}
	return c
}

// run serves until ctx ends, then shuts down gracefully: the HTTP server
// drains, calls in flight end with DCN and their jobs stay leased until
// the lease runs out, when the next instance retries them.
func run(ctx context.Context, cfg Config, logger *slog.Logger, out io.Writer, dev bool) error {
	svc, err := openService(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer svc.Close()
	cfg = svc.cfg
	tok, err := svc.bootstrap(ctx)
	if err != nil {
		return err
	}
	workCtx, stopWork := context.WithCancel(context.Background())
	defer stopWork()
	addrs, err := svc.Start(workCtx)
	if err != nil {
		return err
	}
	go svc.purgeLoop(workCtx, time.Duration(cfg.PurgeInterval))

	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CertFile != "" {
		c, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return err
		}
		tlsCfg.Certificates = []tls.Certificate{c}
	} else {
		c, err := selfSigned()
		if err != nil {
			return err
		}
		tlsCfg.Certificates = []tls.Certificate{c}
	}
	ln, err := tls.Listen("tcp", cfg.HTTPAddr, tlsCfg)
	if err != nil {
		return err
	}
	base := "https://" + ln.Addr().String()
	for i, a := range addrs {
		fmt.Fprintf(out, "inbound T.38 for DID %s on udp %s\n", cfg.Inbound[i].DID, a)
	}
	if svc.sip != nil {
		fmt.Fprintf(out, "SIP on %s %s (inbound calls routed by the dialled number)\n", svc.sip.Addr().Network(), svc.sip.Addr())
	}
	if tok != "" {
		fmt.Fprintf(out, "BOOTSTRAP_ADMIN_TOKEN=%s\n(shown once: it expires in 24 h; create users and tokens with it, then let it expire)\n", tok)
		if dev {
			printDevHelp(out, base)
		}
	}
	// Last: tests read the lines above until this one.
	fmt.Fprintf(out, "faxservice %s: API %s (state in %s)\n", cfg.Instance, base, cfg.Dir)
	srv := &http.Server{Handler: svc.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-done:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	stopWork()
	return nil
}

// backupCommand is -backup and -restore: offline, on the configured state.
func backupCommand(cfg Config, to, from string) error {
	ctx := context.Background()
	if from != "" {
		c, err := cfg.withDefaults()
		if err != nil {
			return err
		}
		// The customer's key must be there already: a restore never
		// makes a key.
		keys, err := phi.OpenLocalKeyFile(c.KEKFile)
		if err != nil {
			return fmt.Errorf("faxservice: restore needs the key the backup was made under (kek_file %s): %w", c.KEKFile, err)
		}
		f, err := os.Open(from)
		if err != nil {
			return err
		}
		defer f.Close()
		rep, err := restoreBackup(ctx, c, keys, f)
		if err != nil {
			return err
		}
		fmt.Printf("restored %d rows, %d documents (each opened and its pages' digests checked), %d audit records (chains and checkpoints verified)\n",
			rep.Rows, rep.Documents, rep.AuditRecords)
		return nil
	}
	if cfg.Instance == "" {
		cfg.Instance = "backup"
	}
	svc, err := openService(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer svc.Close()
	f, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	rep, err := svc.Backup(ctx, f)
	if err == nil {
		err = f.Sync()
	}
	if e := f.Close(); err == nil {
		err = e
	}
	if err != nil {
		os.Remove(to)
		return err
	}
	fmt.Printf("backup %s: %d rows, %d documents, %d audit records, encrypted under %s\n", to, rep.Rows, rep.Documents, rep.AuditRecords, svc.cfg.KEKFile)
	return nil
}

func printDevHelp(out io.Writer, base string) {
	fmt.Fprintf(out, `
Try it (a self-signed certificate, hence -k):

  A=$BOOTSTRAP_ADMIN_TOKEN   # the token above
  # a sender and an inbox user, and a route for the service's own DID
  curl -k -H "Authorization: Bearer $A" -d '{"name":"alice","roles":["sender"]}' %[1]s/v1/users
  curl -k -H "Authorization: Bearer $A" -d '{"name":"bob","roles":["inbox"]}' %[1]s/v1/users
  curl -k -H "Authorization: Bearer $A" -X POST %[1]s/v1/users/<alice id>/tokens     # -> SENDER token
  curl -k -H "Authorization: Bearer $A" -X POST %[1]s/v1/users/<bob id>/tokens       # -> INBOX token
  curl -k -H "Authorization: Bearer $A" -X PUT -d '{"targets":["<bob id>"]}' %[1]s/v1/routes/default
  # send a PDF, TIFF, PNG or JPEG to +15550100 (routed back to this service)
  curl -k -H "Authorization: Bearer $SENDER" -F to=+15550100 -F file=@letter.pdf -F cover_subject=Hello %[1]s/v1/faxes
  curl -k -H "Authorization: Bearer $SENDER" %[1]s/v1/faxes/<fax id>
  curl -k -H "Authorization: Bearer $INBOX" %[1]s/v1/faxes
  curl -k -H "Authorization: Bearer $INBOX" -o fax.pdf "%[1]s/v1/faxes/<inbound id>/content?format=pdf"
  # the web console: a user with a password (the bootstrap admin has none), then open %[1]s/console/
  curl -k -H "Authorization: Bearer $A" -d '{"name":"frontdesk","roles":["sender","inbox"],"password":"Choose-A-Strong-Passw0rd"}' %[1]s/v1/users

`, base)
}

func selfSigned() (tls.Certificate, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "faxservice"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(30 * 24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}, nil
}
