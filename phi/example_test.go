package phi_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/faxkit/faxkit/phi"
	"github.com/faxkit/faxkit/phi/audit"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "phi-example")
	defer os.RemoveAll(dir)

	// Keys: a local KEK file (use a KMSKeyProvider in production) and the
	// audit log's keys.
	kek, err := phi.CreateLocalKeyFile(filepath.Join(dir, "kek.json"))
	if err != nil {
		log.Fatal(err)
	}
	auditKeys, err := audit.CreateKeyFile(filepath.Join(dir, "audit.key"), "example-audit")
	if err != nil {
		log.Fatal(err)
	}
	store, err := phi.OpenStore(ctx, phi.StoreConfig{Dir: dir, Keys: kek})
	if err != nil {
		log.Fatal(err)
	}
	auditLog, err := audit.Open(audit.Config{Dir: filepath.Join(dir, "audit"), Keys: auditKeys})
	if err != nil {
		log.Fatal(err)
	}
	guard := phi.NewGuard(store, phi.NewPolicy(auditLog, nil))

	receiver := phi.Principal{ID: "gateway-1", Roles: []phi.Role{phi.RoleReceiver}}
	auditor := phi.Principal{ID: "compliance", Roles: []phi.Role{phi.RoleAuditor}}

	// A received fax, stored sealed; the receiver may read it back.
	info, err := guard.Put(ctx, receiver, "10.0.0.5", phi.Metadata{Direction: phi.Inbound, Remote: "+15550100"},
		strings.NewReader("synthetic page"))
	if err != nil {
		log.Fatal(err)
	}
	d, err := guard.Open(ctx, receiver, "10.0.0.5", info.ID)
	if err != nil {
		log.Fatal(err)
	}
	page, _ := io.ReadAll(d)
	d.Close()
	fmt.Printf("read back: %s\n", page)

	// The auditor may not read it; the refusal is audited.
	_, err = guard.Open(ctx, auditor, "10.0.0.9", info.ID)
	fmt.Println("auditor:", err != nil)

	auditLog.Close()
	rep, err := audit.Verify(filepath.Join(dir, "audit"), auditKeys)
	fmt.Println("audit records:", rep.Records, "verified:", err == nil)
	// Output:
	// read back: synthetic page
	// auditor: true
	// audit records: 5 verified: true
}

// A document written page by page (each page streamed into the sealing
// writer) and read back page by page, through the Guard.
func ExampleGuard_Create() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "phi-example")
	defer os.RemoveAll(dir)
	kek, _ := phi.CreateLocalKeyFile(filepath.Join(dir, "kek.json"))
	auditKeys, _ := audit.CreateKeyFile(filepath.Join(dir, "audit.key"), "example-audit")
	auditLog, _ := audit.Open(audit.Config{Dir: filepath.Join(dir, "audit"), Keys: auditKeys})
	defer auditLog.Close()
	store, _ := phi.OpenStore(ctx, phi.StoreConfig{Dir: dir, Keys: kek})
	guard := phi.NewGuard(store, phi.NewPolicy(auditLog, nil))
	gateway := phi.Principal{ID: "gateway-1", Roles: []phi.Role{phi.RoleReceiver}}

	w, err := guard.Create(ctx, gateway, "10.0.0.5", phi.Metadata{ContentType: "image/tiff"})
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range []string{"page 1", "page 2"} {
		pw, _ := w.NewPage() // e.g. a tiff writer for one page writes here
		io.WriteString(pw, p)
		pw.Close()
	}
	info, err := w.Commit()
	if err != nil {
		log.Fatal(err)
	}
	// Commit granted the creator its document (and audited the creation).
	d, err := guard.Open(ctx, gateway, "10.0.0.5", info.ID)
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	for {
		p, err := d.NextPage()
		if err == io.EOF {
			break
		}
		b, err := io.ReadAll(p) // fails if the page's SHA-256 does not match
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(string(b))
	}
	// Output:
	// page 1
	// page 2
}
