// Reference answers for tests/data/yaml_v3_aliasing.jsonl: reads one case per line (the
// shape of an aliasing document), builds the document as tests/yaml_v3_aliasing.rs does,
// decodes it with gopkg.in/yaml.v3 into a map, and prints the case with "refused" set.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

type Case struct {
	K       int   `json:"k"`
	Fanouts []int `json:"fanouts"`
	M       int   `json:"m"`
	Plain   int   `json:"plain"`
	Q       int   `json:"q"`
	Refused bool  `json:"refused"`
}

func repeat(s string, n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = s
	}
	return strings.Join(parts, ", ")
}

func doc(c Case) string {
	var b strings.Builder
	items := make([]string, c.K)
	for i := range items {
		items[i] = fmt.Sprintf("x%d", i)
	}
	fmt.Fprintf(&b, "a0: &a0 [%s]\n", strings.Join(items, ", "))
	for d, f := range c.Fanouts {
		entries := make([]string, f)
		for i := range entries {
			entries[i] = fmt.Sprintf("k%d: *a%d", i, d)
		}
		fmt.Fprintf(&b, "a%d: &a%d {%s}\n", d+1, d+1, strings.Join(entries, ", "))
	}
	if c.Plain > 0 {
		fmt.Fprintf(&b, "p: [%s]\n", repeat("y", c.Plain))
	} else {
		b.WriteString("p: 1\n")
	}
	fmt.Fprintf(&b, "b: [%s]\n", repeat(fmt.Sprintf("*a%d", len(c.Fanouts)), c.M))
	if c.Q > 0 {
		fmt.Fprintf(&b, "q: [%s]\n", repeat("z", c.Q))
	}
	return b.String()
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		var c Case
		if err := json.Unmarshal(in.Bytes(), &c); err != nil {
			panic(err)
		}
		var v map[string]interface{}
		err := yaml.Unmarshal([]byte(doc(c)), &v)
		if err != nil && err.Error() != "yaml: document contains excessive aliasing" {
			panic(err)
		}
		c.Refused = err != nil
		out, _ := json.Marshal(c)
		fmt.Println(string(out))
	}
}
