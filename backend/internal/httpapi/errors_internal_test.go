package httpapi

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/apperr"
)

// TestEveryReasonIsDocumented fails when a reason is missing from the OpenAPI Problem schema's
// code enum or from the README, when the README gives a code another status than the one the
// API answers with, or when a code has no status.
func TestEveryReasonIsDocumented(t *testing.T) {
	for _, c := range apperr.Codes() {
		if _, ok := statusOf[c]; !ok {
			t.Errorf("code %q has no HTTP status in statusOf", c)
		}
	}

	var doc struct {
		Components struct {
			Schemas struct {
				Problem struct {
					Required   []string `json:"required"`
					Properties struct {
						Code struct {
							Enum []apperr.Reason `json:"enum"`
						} `json:"code"`
					} `json:"properties"`
				} `json:"Problem"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	problem := doc.Components.Schemas.Problem
	if got, want := problem.Properties.Code.Enum, apperr.Reasons(); !slices.Equal(got, want) {
		t.Errorf("openapi.json's Problem.code enum is\n%v\nwant (apperr.Reasons, sorted)\n%v", got, want)
	}
	if !slices.Contains(problem.Required, "code") {
		t.Error("openapi.json's Problem does not require code")
	}

	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// Table rows: | `a` · `b` | 400 · 415 | when |
	row := regexp.MustCompile("(?m)^\\| (`[a-z_]+`(?: · `[a-z_]+`)*) \\| ([0-9]{3}(?: · [0-9]{3})*) \\|")
	tabled := map[apperr.Reason]int{}
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		codes, statuses := strings.Split(m[1], " · "), strings.Split(m[2], " · ")
		for i, c := range codes {
			s := statuses[0]
			if len(statuses) == len(codes) {
				s = statuses[i]
			}
			tabled[apperr.Reason(strings.Trim(c, "`"))], _ = strconv.Atoi(s)
		}
	}
	if len(tabled) == 0 {
		t.Fatal("README.md has no table of codes")
	}
	for _, r := range apperr.Reasons() {
		status, inTable := tabled[r]
		switch {
		case inTable && status != statusOf[r.Code()]:
			t.Errorf("README.md gives %s status %d; the API answers %d", r, status, statusOf[r.Code()])
		case !inTable && !strings.Contains(string(readme), "`"+string(r)+"`"):
			t.Errorf("README.md does not mention the code %s", r)
		}
	}
	for r := range tabled {
		if !slices.Contains(apperr.Reasons(), r) {
			t.Errorf("README.md documents a code %s that does not exist", r)
		}
	}
}
