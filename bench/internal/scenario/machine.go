package scenario

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// machine records where and when the run happens, and what is not measured.
func (b *Bench) machine(ctx context.Context) error {
	r := &b.Results.Run
	r.Date = time.Now().UTC()
	r.Cores = runtime.NumCPU()
	r.CPU = cpuModel()
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) == nil {
		r.MemoryBytes = uint64(si.Totalram) * uint64(si.Unit)
	}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		r.OS = utsString(u.Sysname[:]) + " " + utsString(u.Release[:])
	}
	if out, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output(); err == nil {
		r.Go = strings.TrimSpace(string(out))
	}
	r.MariaDB = "unavailable"
	if slices.Contains(b.DBs, "mysql") {
		if v, err := b.mariaDBVersion(ctx); err == nil {
			r.MariaDB = v
		}
	}
	r.Commit = b.commit(ctx)
	r.LoadStart = loadAverage()
	if st, err := os.Stat(b.Bin); err == nil {
		b.Results.BinaryBytes = st.Size()
	}
	r.Settings.Rounds, r.Settings.Rate, r.Settings.BrowserLoads = b.Rounds, b.Rate, b.BrowserLoads
	r.Settings.Duration, r.Settings.Warmup = durationOf(b.Duration), durationOf(b.Warmup)
	if why := b.browserSkipped(); why != "" {
		b.Logf("bench: not measuring the tokens page in Chromium: %s", why)
		if r.Skipped == nil {
			r.Skipped = map[string]string{}
		}
		r.Skipped["browser"] = why
	}
	return nil
}

// commit is the commit measured, naming the directories whose uncommitted changes are measured
// too (the server, the portal it embeds, the benchmarks).
func (b *Bench) commit(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "git", "-C", b.Root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	var dirty []string
	for _, d := range []string{"backend", "frontend", "bench", filepath.Join("e2e", "bench")} {
		st, err := exec.CommandContext(ctx, "git", "-C", b.Root, "status", "--porcelain", "--", d).Output()
		if err == nil && len(strings.TrimSpace(string(st))) > 0 {
			dirty = append(dirty, d)
		}
	}
	if len(dirty) > 0 {
		c += " (uncommitted changes in " + strings.Join(dirty, ", ") + ")"
	}
	return c
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// loadAverage is the 1, 5 and 15 minute load average.
func loadAverage() [3]float64 {
	var l [3]float64
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) == nil {
		for i := range l {
			l[i] = float64(si.Loads[i]) / (1 << 16)
		}
	}
	return l
}

func utsString[T int8 | uint8](b []T) string {
	var s strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		s.WriteByte(byte(c))
	}
	return s.String()
}

func itoa(n int) string { return strconv.Itoa(n) }
