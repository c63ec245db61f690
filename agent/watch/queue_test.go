package watch

import (
	"slices"
	"testing"
)

func drain(q *queue) []Event {
	var out []Event
	for {
		e, ok := q.pop()
		if !ok {
			return out
		}
		out = append(out, e)
	}
}

func TestQueueCoalesces(t *testing.T) {
	q := newQueue(100)
	for _, e := range []Event{
		{Rel: "a", Op: Create}, {Rel: "a", Op: Write}, {Rel: "a", Op: Write}, {Rel: "b", Op: Write},
		{Rel: "a", Op: Write}, {Rel: "a", Op: CloseWrite}, {Rel: "a", Op: Write}, {Rel: "a", Op: Remove}, {Rel: "a", Op: Remove},
	} {
		q.push(e)
	}
	want := []Event{
		{Rel: "a", Op: Create}, {Rel: "a", Op: Write}, {Rel: "b", Op: Write},
		{Rel: "a", Op: CloseWrite}, {Rel: "a", Op: Write}, {Rel: "a", Op: Remove}, {Rel: "a", Op: Remove},
	}
	if got := drain(q); !slices.Equal(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	// Once delivered, a new Write is not merged into an old one.
	q.push(Event{Rel: "a", Op: Write})
	if got := drain(q); len(got) != 1 {
		t.Fatalf("got %v", got)
	}
	if len(q.last) != 0 {
		t.Fatalf("index leaked: %v", q.last)
	}
}

func TestQueueOverflow(t *testing.T) {
	q := newQueue(3)
	for _, r := range []string{"a", "b", "c", "d"} {
		q.push(Event{Rel: r, Op: Create})
	}
	q.push(Event{Rel: "e", Op: Create})
	want := []Event{{Op: Overflow}, {Rel: "e", Op: Create}}
	if got := drain(q); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestOpString(t *testing.T) {
	if s := (Write | CloseWrite).String(); s != "Write|CloseWrite" {
		t.Fatal(s)
	}
}
