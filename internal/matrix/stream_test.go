package matrix

import (
	"bytes"
	"encoding/json"
	"testing"
)

// appendString must write what encoding/json writes, including for the
// strings it escapes (the fast path is only for plain ASCII).
func TestAppendStringIsEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"", "ns/pod", "TCP", "kube-system/coredns-7db6d8ff4d-2xk9p",
		`quote"`, `back\slash`, "tab\t", "nl\n", "\x00\x1f", "<html>&", "del\x7f",
		"é", "日本", "\u2028\u2029", "bad\xffutf8", "\xc3",
	} {
		want, _ := json.Marshal(s)
		if got := appendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("appendString(%q) = %s, want x%s", s, got, want)
		}
	}
}

// Cells written in batches of any size through a JSONEncoder are the same
// document as WriteJSON of all of them.
func TestJSONEncoderBatchesEqualWriteJSON(t *testing.T) {
	m := &Matrix{}
	for i := 0; i < 10; i++ {
		m.Results = append(m.Results, Cell{From: "a/x", To: "b/y", Port: int32(80 + i), Protocol: "TCP", Allowed: i%3 == 0})
	}
	m.Results[4].Detail = DetailUnsupported
	var want bytes.Buffer
	if err := m.WriteJSON(&want); err != nil {
		t.Fatal(err)
	}
	var check struct{ Results []Cell }
	if err := json.Unmarshal(want.Bytes(), &check); err != nil || len(check.Results) != 10 || check.Results[4].Detail != DetailUnsupported {
		t.Fatalf("WriteJSON is not the matrix: %v, %+v", err, check)
	}
	for _, size := range []int{1, 2, 3, 7, 10} {
		var got bytes.Buffer
		enc := NewJSONEncoder(&got)
		if err := enc.Write(nil); err != nil { // an empty batch first
			t.Fatal(err)
		}
		for i := 0; i < len(m.Results); i += size {
			if err := enc.Write(AppendJSONCells(nil, m.Results[i:min(i+size, len(m.Results))])); err != nil {
				t.Fatal(err)
			}
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("batches of %d:\n got %s\nwant %s", size, got.String(), want.String())
		}
	}
	var empty bytes.Buffer
	if err := (&Matrix{}).WriteJSON(&empty); err != nil || empty.String() != "{\"results\":[]}\n" {
		t.Errorf("empty matrix: %q, %v", empty.String(), err)
	}
}
