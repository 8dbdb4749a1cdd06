package main

import (
	"bytes"
	"encoding/json"
	"github.com/faxkit/faxkit/phi/audit"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestOpenAPIMatchesRoutes checks openapi.json against the registered
// routes, both ways: nothing undocumented, nothing documented that is
// not served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var spec struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(openAPI, &spec))
	require.True(t, strings.HasPrefix(spec.OpenAPI, "3."))
	var documented []string
	for p, ops := range spec.Paths {
		for m, op := range ops {
			documented = append(documented, strings.ToUpper(m)+" "+p)
			require.NotEmpty(t, op["responses"], "%s %s has no responses", m, p)
			require.NotEmpty(t, op["summary"], "%s %s has no summary", m, p)
		}
	}
	var served []string
	for _, r := range (&Service{}).routes() {
		served = append(served, r.pattern)
	}
	slices.Sort(documented)
	slices.Sort(served)
	require.Equal(t, served, documented)

	// And the served document is that file.
	e := newEnv(t, nil)
	code, b, _ := e.do("GET", "/openapi.json", "", nil, nil)
	require.Equal(t, 200, code)
	require.Equal(t, openAPI, b)
	code, _, hdr := e.do("GET", "/healthz", "", nil, nil)
	require.Equal(t, 200, code)
	require.Contains(t, hdr.Get("Strict-Transport-Security"), "max-age=")
	code, _, _ = e.do("GET", "/readyz", "", nil, nil)
	require.Equal(t, 200, code)
}

// TestNoPHIInLogsOrResponses sends and receives a fax whose number and
// cover page carry (synthetic) PHI, makes mistakes that involve it, and
// greps every log line, every API response other than the metadata and
// content endpoints, and the exported audit log for it.
func TestNoPHIInLogsOrResponses(t *testing.T) {
	e := newEnv(t, nil)
	_, alice := e.user("alice", "sender")
	bobID, bob := e.user("bob", "inbox")
	require.Equal(t, http.StatusOK, e.json("PUT", "/v1/routes/default", e.admin, map[string]any{"targets": []string{bobID}}, nil))
	const number, name, mrn = "+15550177", "Janet Testpatient", "MRN-998877"
	doc, _ := letterTIFF(t, 1)
	code, st, body := e.send(alice, nil, part{name: "to", data: []byte(number)}, part{name: "file", file: name + ".tif", data: doc},
		part{name: "cover_to", data: []byte(name)}, part{name: "cover_note", data: []byte(mrn)})
	require.Equal(t, http.StatusAccepted, code, "%s", body)
	e.wait(alice, st.ID, func(s FaxStatus) bool { return s.Status == statusDelivered })
	// Mistakes carrying PHI.
	e.send(alice, nil, part{name: "to", data: []byte(number + name)}, part{name: "file", file: "a.tif", data: doc})
	e.send(alice, nil, part{name: "to", data: []byte("+44" + number[2:])}, part{name: "file", file: mrn + ".tif", data: doc})
	e.send(alice, nil, part{name: "to", data: []byte(number)}, part{name: "file", file: "x.txt", data: []byte(name + mrn)})
	e.do("GET", "/v1/faxes?status="+mrn, alice, nil, nil)
	var l struct{ Faxes []FaxStatus }
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		e.json("GET", "/v1/faxes", bob, nil, &l)
		if len(l.Faxes) > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.Len(t, l.Faxes, 1)
	e.do("GET", "/v1/faxes/"+l.Faxes[0].ID, bob, nil, nil)
	e.do("GET", "/v1/faxes/"+l.Faxes[0].ID+"/events", bob, nil, nil)
	var md struct{ Remote string }
	require.Equal(t, 200, e.json("GET", "/v1/faxes/"+st.ID+"/metadata", alice, nil, &md))
	require.Equal(t, number, md.Remote, "the metadata endpoint is where the number is")

	e.cancel()
	require.NoError(t, e.svc.Close())
	ak, err := audit.OpenKeyFile(filepath.Join(e.svc.cfg.Dir, "audit.key"))
	require.NoError(t, err)
	var exp bytes.Buffer
	_, err = audit.Export(filepath.Join(e.svc.cfg.Dir, "audit-test"), ak, &exp, time.Time{}, time.Time{})
	require.NoError(t, err)
	_, err = audit.Verify(filepath.Join(e.svc.cfg.Dir, "audit-test"), ak)
	require.NoError(t, err)

	phiValues := []string{number[1:], name, "Testpatient", mrn}
	check := func(what, s string) {
		for _, v := range phiValues {
			require.NotContains(t, s, v, "PHI in %s", what)
		}
	}
	check("logs", e.logs.String())
	check("audit export", exp.String())
	n := 0
	for _, r := range e.bodies {
		if strings.HasSuffix(r.path, "/metadata") || strings.Contains(r.path, "/content") || strings.Contains(r.path, "/pages/") {
			continue
		}
		check("response to "+r.path, string(r.body))
		n++
	}
	require.Greater(t, n, 10)
	require.Contains(t, e.logs.String(), "route=\"POST /v1/faxes\"", "the access log is there")
}
