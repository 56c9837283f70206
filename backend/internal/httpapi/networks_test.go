package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// networksOf reads a service user's allowedCidrs as the API returns them.
func networksOf(t *testing.T, r *testenv.Response) []string {
	t.Helper()
	var u struct {
		AllowedCidrs []string `json:"allowedCidrs"`
	}
	r.JSON(t, &u)
	return u.AllowedCidrs
}

// from sends a request as the client addr behind the trusted proxy (the test's own address).
func from(addr string) testenv.Opt { return testenv.Header("X-Forwarded-For", addr) }

// wantAddressRefused checks a 403 address_not_allowed that names the address seen.
func wantAddressRefused(t *testing.T, r *testenv.Response, addr string) {
	t.Helper()
	p := testenv.WantProblem(t, r, http.StatusForbidden)
	if p.Code != "address_not_allowed" || !strings.Contains(p.Detail, " "+addr+":") {
		t.Errorf("code %q detail %q, want address_not_allowed naming %s", p.Code, p.Detail, addr)
	}
}

// TestServiceUserNetworks: a service user bound to an IPv4 and an IPv6 network; its token works
// from inside them (the client address after TRUSTED_PROXIES) and is refused from anywhere else
// with 403 address_not_allowed naming the address, on every endpoint; [] lifts the binding.
func TestServiceUserNetworks(t *testing.T) {
	t.Parallel()
	testenv.ForEachServerWith(t, testenv.Settings{Env: map[string]string{"TRUSTED_PROXIES": "127.0.0.1"}}, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		r := e.Do(http.MethodPost, "/api/service-users", map[string]any{
			"name": "ci", "allowedCidrs": []string{"2001:DB8::/32", "10.0.0.0/8", "10.0.0.0/8", "192.0.2.10"},
		}, e.As(admin))
		if r.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		want := []string{"10.0.0.0/8", "192.0.2.10/32", "2001:db8::/32"}
		if got := networksOf(t, r); !slices.Equal(got, want) {
			t.Errorf("allowedCidrs %v, want %v (canonical, sorted, once each)", got, want)
		}
		var su struct {
			ID int64 `json:"id"`
		}
		r.JSON(t, &su)
		if got := networksOf(t, e.Do(http.MethodGet, suPath(su.ID), nil, e.As(admin))); !slices.Equal(got, want) {
			t.Errorf("GET: %v", got)
		}
		var list []map[string]any
		e.GetJSON("/api/service-users", &list, e.As(admin))
		if len(list) != 1 || fmt.Sprint(list[0]["allowedCidrs"]) != fmt.Sprint(want) {
			t.Errorf("list: %v", list)
		}
		tok := e.CreateToken(admin, map[string]any{"subject": "ci"})
		call := func(path, addr string) *testenv.Response {
			return e.Do(http.MethodGet, path, nil, testenv.Bearer(tok.AccessToken), from(addr))
		}
		for _, addr := range []string{"10.1.2.3", "10.255.255.255", "192.0.2.10", "2001:db8::5", "2001:db8:ffff::1", "::ffff:10.9.9.9"} {
			if r := call("/api/system/config", addr); r.Status != http.StatusOK {
				t.Errorf("from %s: %d %s", addr, r.Status, r.Body)
			}
		}
		for _, addr := range []string{"11.0.0.1", "192.0.2.11", "127.0.0.1", "2001:db9::1", "2001:db7:ffff::1"} {
			wantAddressRefused(t, call("/api/system/config", addr), addr)
		}
		wantAddressRefused(t, call("/api/tokens/self", "198.51.100.7"), "198.51.100.7")
		wantAddressRefused(t, e.Do(http.MethodGet, "/api/pipeline/runs", nil, testenv.Bearer(tok.AccessToken), from("198.51.100.7")), "198.51.100.7")

		// The binding does not apply to people: the administrator calls from anywhere.
		if r := e.Do(http.MethodGet, "/api/system/config", nil, e.As(admin), from("198.51.100.7")); r.Status != http.StatusOK {
			t.Errorf("administrator from elsewhere: %d", r.Status)
		}
		// Lifted: anywhere again.
		r = e.Do(http.MethodPatch, suPath(su.ID), map[string]any{"allowedCidrs": []string{}}, e.As(admin))
		if got := networksOf(t, r); r.Status != http.StatusOK || len(got) != 0 {
			t.Fatalf("patch to []: %d %s", r.Status, r.Body)
		}
		if r := call("/api/system/config", "198.51.100.7"); r.Status != http.StatusOK {
			t.Errorf("unbound, from elsewhere: %d %s", r.Status, r.Body)
		}
		evs := e.AuditEvents("service_user.updated")
		if len(evs) != 1 || !strings.Contains(fmt.Sprint(evs[0].Details["before"]), "10.0.0.0/8") {
			t.Errorf("audit of the change: %+v", evs)
		}
	})
}

// TestNetworkBindingIgnoresForgedForwardedFor: without TRUSTED_PROXIES, a client that claims
// an allowed address in X-Forwarded-For (or X-Real-IP) is judged by its own address.
func TestNetworkBindingIgnoresForgedForwardedFor(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		createSU(t, e, admin, map[string]any{"name": "ci", "allowedCidrs": []string{"10.0.0.0/8"}})
		tok := e.CreateToken(admin, map[string]any{"subject": "ci"})
		for _, h := range [][2]string{{"X-Forwarded-For", "10.1.2.3"}, {"X-Forwarded-For", "127.0.0.1, 10.1.2.3"}, {"X-Real-IP", "10.1.2.3"}} {
			r := e.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken), testenv.Header(h[0], h[1]))
			wantAddressRefused(t, r, "127.0.0.1")
		}
	})
}

// TestNetworkBindingReachesEveryInstance: bound through A, B refuses the token once it has read
// the service-user feed, and neither the binding nor its check costs B a database statement
// per request.
func TestNetworkBindingReachesEveryInstance(t *testing.T) {
	t.Parallel()
	testenv.ForEachDB(t, func(t *testing.T, db testenv.DB) {
		var queries atomic.Int64
		clock := testenv.NewClock()
		proxies := map[string]string{"TRUSTED_PROXIES": "127.0.0.1"}
		a := testenv.Start(t, db, testenv.Settings{Clock: clock, Env: proxies})
		b := testenv.Start(t, db, testenv.Settings{Clock: clock, Env: proxies, Store: store.Options{Queries: &queries}})
		admin := a.SignIn("admin@example.com", true)
		su := createSU(t, a, admin, map[string]any{"name": "ci"})
		tok := a.CreateToken(admin, map[string]any{"subject": "ci"})
		call := func(addr string) *testenv.Response {
			return b.Do(http.MethodGet, "/api/system/config", nil, testenv.Bearer(tok.AccessToken), from(addr))
		}
		b.Sync()
		if r := call("198.51.100.7"); r.Status != http.StatusOK {
			t.Fatalf("before the binding: %d %s", r.Status, r.Body)
		}
		patchSU(t, a, admin, su.ID, map[string]any{"allowedCidrs": []string{"2001:db8::/32"}})
		b.Sync() // what B's feed poll does every 250 ms
		queries.Store(0)
		for range 50 {
			wantAddressRefused(t, call("198.51.100.7"), "198.51.100.7")
			if r := call("2001:db8::7"); r.Status != http.StatusOK {
				t.Fatalf("from inside: %d %s", r.Status, r.Body)
			}
		}
		if n := queries.Load(); n != 0 {
			t.Errorf("100 requests with a bound service user cost %d statements, want 0", n)
		}
	})
}

// TestInvalidNetworks: what is not a network is refused with a 400 that says what is wrong,
// on create and on change, and changes nothing.
func TestInvalidNetworks(t *testing.T) {
	t.Parallel()
	testenv.ForEachServer(t, func(t *testing.T, e *testenv.Env, admin testenv.Session) {
		su := createSU(t, e, admin, map[string]any{"name": "ci", "allowedCidrs": []string{"10.0.0.0/8"}})
		many := make([]string, 51)
		for i := range many {
			many[i] = fmt.Sprintf("10.0.%d.0/24", i)
		}
		for name, c := range map[string]struct {
			list []string
			says string
		}{
			"host bits":     {[]string{"10.0.0.1/8"}, "did you mean 10.0.0.0/8"},
			"bad octet":     {[]string{"300.0.0.0/8"}, "not a network"},
			"long prefix":   {[]string{"10.0.0.0/33"}, "not a network"},
			"IPv6 zone":     {[]string{"fe80::1%eth0"}, "not a network"},
			"empty":         {[]string{""}, "empty"},
			"IPv4-mapped":   {[]string{"::ffff:10.0.0.0/104"}, "IPv4-mapped"},
			"a host name":   {[]string{"ci.example.com"}, "not a network"},
			"51 networks":   {many, "at most 50"},
			"anywhere once": {[]string{"0.0.0.0/0", "::/0x"}, "not a network"},
		} {
			for _, r := range []*testenv.Response{
				e.Do(http.MethodPost, "/api/service-users", map[string]any{"name": "other", "allowedCidrs": c.list}, e.As(admin), testenv.Lenient),
				e.Do(http.MethodPatch, suPath(su.ID), map[string]any{"allowedCidrs": c.list}, e.As(admin), testenv.Lenient),
			} {
				if p := testenv.WantProblem(t, r, http.StatusBadRequest); p.Code != "invalid_field" || !strings.Contains(p.Detail, c.says) {
					t.Errorf("%s: %s %q, want invalid_field saying %q", name, p.Code, p.Detail, c.says)
				}
			}
		}
		if got := networksOf(t, e.Do(http.MethodGet, suPath(su.ID), nil, e.As(admin))); !slices.Equal(got, []string{"10.0.0.0/8"}) {
			t.Errorf("after refused changes: %v", got)
		}
	})
}
