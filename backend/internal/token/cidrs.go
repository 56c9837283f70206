package token

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
	"github.com/codemetrics/codemetrics/backend/internal/names"
)

// MaxAllowedCIDRs is the most networks a service user may be bound to.
const MaxAllowedCIDRs = 50

// NormalizeCIDRs checks the networks a service user's tokens may be used from and returns them
// in their canonical spelling, sorted, without duplicates: IPv4 or IPv6 prefixes (10.0.0.0/8,
// 2001:db8::/32) or single addresses (taken as /32 or /128), at most MaxAllowedCIDRs. An empty
// list means anywhere. A prefix with host bits set (10.0.0.1/8) is refused rather than
// guessed at: it is usually a typo for a narrower network.
func NormalizeCIDRs(list []string) ([]string, error) {
	out := make([]string, 0, len(list))
	for _, s := range list {
		p, err := parseCIDR(strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		out = append(out, p.String())
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxAllowedCIDRs {
		return nil, apperr.New(apperr.InvalidField, "allowedCidrs names %d networks: at most %d", len(out), MaxAllowedCIDRs)
	}
	return out, nil
}

func parseCIDR(s string) (netip.Prefix, error) {
	shown := names.Truncate(s, 60)
	bad := func(why string) error {
		return apperr.New(apperr.InvalidField, "allowedCidrs: %q is not a network: %s (write an IPv4 or IPv6 network such as 10.0.0.0/8 or 2001:db8::/32, or a single address)", shown, why)
	}
	if s == "" {
		return netip.Prefix{}, bad("it is empty")
	}
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return netip.Prefix{}, bad("it does not parse as address/length")
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, bad("it does not parse as an address")
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, bad("an IPv4-mapped IPv6 network: write the IPv4 network itself")
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, apperr.New(apperr.InvalidField, "allowedCidrs: %q has bits set beyond its /%d: did you mean %s?", shown, p.Bits(), m)
	}
	return p, nil
}

// parsedCIDRs turns a normalized list into prefixes (the guard's snapshot); nil for anywhere.
func parsedCIDRs(list []string) []netip.Prefix {
	if len(list) == 0 {
		return nil
	}
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		// Stored but unreadable (written by hand): bind to nowhere rather than anywhere.
		out = append(out, netip.Prefix{})
	}
	return out
}

// CheckAddress refuses a request from an address outside the service user's allowed networks
// (none set: anywhere), naming the address seen. addr is the client address after
// TRUSTED_PROXIES. No database statement.
func (a Access) CheckAddress(addr string) error {
	if a.user == nil || len(a.user.cidrs) == 0 {
		return nil
	}
	ip, err := netip.ParseAddr(addr)
	if err == nil {
		ip = ip.WithZone("").Unmap()
		for _, p := range a.user.cidrs {
			if p.IsValid() && p.Contains(ip) {
				return nil
			}
		}
	}
	return apperr.New(apperr.AddressNotAllowed, "service user %q may not be used from %s: its tokens are bound to %s; an administrator can change its allowedCidrs",
		a.user.name, names.Truncate(addr, 64), strings.Join(a.user.cidrNames, ", "))
}
