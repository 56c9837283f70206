package notify

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// DaysLeft is how many days the event's token has left at now, rounded up (a token with 6.5
// days left has 7); 0 once it has stopped working, and for events that end a token.
func DaysLeft(ev Event, now time.Time) int {
	switch ev.Kind {
	case TokenExpiring, TokenRotated:
		if now.Before(ev.Expires) {
			return int(math.Ceil(ev.Expires.Sub(now).Hours() / 24))
		}
	}
	return 0
}

// chatText makes text written by people (a subject, a reason) safe in a chat message: Slack
// reads <…> as commands (<!channel> notifies everyone) and wants &, < and > escaped; Slack and
// Mattermost would notify a whole channel for @channel, @here or @all, so an @ is followed by
// a word joiner, which shows nothing and stops the mention.
func chatText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "@", "@\u2060").Replace(s)
}

// plainText leaves text as it is (an email's plain-text body).
func plainText(s string) string { return s }

func when(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func days(n int) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// describe says what happened in a title (an email's subject) and a sentence (the webhook's
// text, the email's first line), with esc applied to every part people wrote.
func describe(ev Event, now time.Time, portal string, esc func(string) string) (title, text string) {
	tokens := strings.TrimRight(portal, "/") + "/admin/service-tokens"
	name := "the service token “" + esc(ev.Subject) + "” (id " + ev.TokenID + ")"
	if ev.ServiceUser != "" && ev.ServiceUser != ev.Subject {
		name += " of the service user “" + esc(ev.ServiceUser) + "”"
	}
	quoted := "“" + ev.Subject + "”"
	switch ev.Kind {
	case TokenExpiring:
		left := DaysLeft(ev, now)
		title = "CodeMetrics: service token " + quoted + " expires in " + days(left)
		text = fmt.Sprintf("⚠️ CodeMetrics: %s expires in %s, on %s. Rotate it before then: %s", name, days(left), when(ev.Expires), tokens)
	case TokenExpired:
		title = "CodeMetrics: service token " + quoted + " has expired"
		text = fmt.Sprintf("⛔ CodeMetrics: %s expired on %s: calls with it are refused. Create a new one: %s", name, when(ev.Expires), tokens)
	case TokenRevoked:
		title = "CodeMetrics: service token " + quoted + " was revoked"
		text = fmt.Sprintf("🚫 CodeMetrics: %s was revoked by %s on %s: calls with it are refused.", name, esc(ev.Actor), when(ev.CreatedAt))
		if ev.Reason != "" {
			text += " Reason: “" + esc(ev.Reason) + "”."
		}
	case TokenRotated:
		title = "CodeMetrics: service token " + quoted + " was rotated"
		text = fmt.Sprintf("🔄 CodeMetrics: %s was rotated by %s: its old value keeps working until %s, then only its successor does.", name, esc(ev.Actor), when(ev.Expires))
	case TokenLeaked:
		// The report's source is not repeated here: it is the reporter's text, unauthenticated.
		title = "CodeMetrics: service token " + quoted + " was reported leaked and revoked"
		text = fmt.Sprintf("🚨 CodeMetrics: %s was reported leaked and revoked on %s: calls with it are refused. The audit log has where it was found and who reported it; issue a new token for its service user: %s", name, when(ev.CreatedAt), tokens)
	case TokenEndedUsed:
		title = "CodeMetrics: service token " + quoted + " is still presented after it stopped working"
		text = fmt.Sprintf("👀 CodeMetrics: %s stopped working on %s but is still presented, last from %s: some job still uses it. Find it and give it a current token: %s", name, when(ev.Expires), esc(ev.Address), tokens)
	case TokenGraceEnded:
		title = "CodeMetrics: the old value of service token " + quoted + " stopped working"
		text = fmt.Sprintf("⛔ CodeMetrics: the grace period of %s ended on %s: its old value is refused now, its successor keeps working.", name, when(ev.Expires))
	case Test:
		title = "CodeMetrics: test notification"
		text = fmt.Sprintf("✅ CodeMetrics test notification, sent by %s: this destination receives the warnings before service tokens expire. %s", esc(ev.Actor), tokens)
	default:
		title = "CodeMetrics: " + ev.Kind
		text = "CodeMetrics: " + ev.Kind + " for " + name
	}
	return title, text
}

// details are the facts of the event, one per line, for an email's body.
func details(ev Event, now time.Time) string {
	if ev.Kind == Test {
		return "Event: " + ev.Kind + "\nSent: " + when(ev.CreatedAt)
	}
	lines := []string{
		"Event: " + ev.Kind,
		"Token id: " + ev.TokenID,
		"Subject: " + ev.Subject,
		"Service user: " + ev.ServiceUser,
		"Stops working: " + when(ev.Expires),
		fmt.Sprintf("Days left: %d", DaysLeft(ev, now)),
	}
	if ev.Actor != "" {
		lines = append(lines, "By: "+ev.Actor)
	}
	if ev.Reason != "" {
		lines = append(lines, "Reason: "+ev.Reason)
	}
	if ev.Address != "" {
		lines = append(lines, "Last presented from: "+ev.Address)
	}
	return strings.Join(lines, "\n")
}
