package flows

import (
	"fmt"

	"github.com/looplab/fsm"
)

// Graph formats.
const (
	FormatMermaid = "mermaid"
	FormatDot     = "dot"
)

// Graph draws the guide's state machine with looplab/fsm's visualizer:
// steps are states and answers are the labelled transitions. format is
// FormatMermaid or FormatDot.
func (c *Compiled) Graph(format string) (string, error) {
	f := fsm.NewFSM(c.Guide.Start, c.events, nil)
	switch format {
	case FormatMermaid:
		return fsm.VisualizeWithType(f, fsm.MERMAID)
	case FormatDot:
		return fsm.VisualizeWithType(f, fsm.GRAPHVIZ)
	default:
		return "", fmt.Errorf("unknown graph format %q (want %s or %s)", format, FormatMermaid, FormatDot)
	}
}

// Steps returns the number of steps in the guide.
func (c *Compiled) Steps() int { return len(c.steps) }
