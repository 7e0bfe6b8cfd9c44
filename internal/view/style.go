package view

import "github.com/charmbracelet/x/ansi"

// style paints text for a terminal, or leaves it as it is.
type style struct{ color bool }

// The styles of the view: the 8 basic colors, which every color terminal
// has and the user's theme chooses.
var (
	boldStyle   = ansi.NewStyle().Bold()
	dimStyle    = ansi.NewStyle().Faint()
	redStyle    = ansi.NewStyle().ForegroundColor(ansi.Red)
	greenStyle  = ansi.NewStyle().ForegroundColor(ansi.Green)
	yellowStyle = ansi.NewStyle().ForegroundColor(ansi.Yellow)
	cyanStyle   = ansi.NewStyle().ForegroundColor(ansi.Cyan)
)

func (s style) paint(st ansi.Style, text string) string {
	if !s.color || text == "" {
		return text
	}
	return st.Styled(text)
}

func (s style) bold(t string) string   { return s.paint(boldStyle, t) }
func (s style) dim(t string) string    { return s.paint(dimStyle, t) }
func (s style) red(t string) string    { return s.paint(redStyle, t) }
func (s style) green(t string) string  { return s.paint(greenStyle, t) }
func (s style) yellow(t string) string { return s.paint(yellowStyle, t) }
func (s style) info(t string) string   { return s.paint(cyanStyle, t) }

// The icons of the view's lines.
func (s style) ok() string     { return s.green("✓") }
func (s style) fail() string   { return s.red("✗") }
func (s style) cancel() string { return s.yellow("◌") }
func (s style) skip() string   { return s.green("↷") }
