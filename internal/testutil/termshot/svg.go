package termshot

import (
	"bytes"
	"fmt"
	"html"
	"image/color"
	"strings"

	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
)

// The SVG's terminal: a dark theme, cells of a 14px monospace font.
const (
	cellW      = 8.4
	cellH      = 18.0
	padX       = 14.0
	padTop     = 38.0
	padBottom  = 14.0
	background = "#1e1e2e"
	foreground = "#cdd6f4"
)

// palette are the 16 basic colors of the theme.
var palette = [16]string{
	"#45475a", "#f38ba8", "#a6e3a1", "#f9e2af", "#89b4fa", "#f5c2e7", "#94e2d5", "#bac2de",
	"#585b70", "#f38ba8", "#a6e3a1", "#f9e2af", "#89b4fa", "#f5c2e7", "#94e2d5", "#a6adc8",
}

// SVG draws the lines of the screen (scrolled-off ones included), the last
// rows of them when rows > 0, as an SVG image of a terminal window whose
// title bar reads title. Every word of ASCII characters of one style is
// one text element placed at its column and stretched to its cells, and
// every other character its own, so that a font whose advance differs
// from the cells', or whose symbols are wider, does not shift the columns.
func (s *Screen) SVG(title string, rows int) []byte {
	all := s.rows()
	for len(all) > 0 && blank(all[len(all)-1]) {
		all = all[:len(all)-1]
	}
	if rows > 0 && len(all) > rows {
		all = all[len(all)-rows:]
	}
	cols := s.em.Width()
	w := padX*2 + float64(cols)*cellW
	h := padTop + padBottom + float64(max(len(all), 1))*cellH
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" rx="8" fill="%s"/>`+"\n", background)
	for i, c := range []string{"#f38ba8", "#f9e2af", "#a6e3a1"} {
		fmt.Fprintf(&b, `<circle cx="%d" cy="16" r="6" fill="%s"/>`+"\n", 20+i*20, c)
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="20" fill="#a6adc8" font-family="sans-serif" font-size="12" text-anchor="middle">%s</text>`+"\n", w/2, html.EscapeString(title))
	b.WriteString(`<g font-family="'DejaVu Sans Mono','Menlo','Consolas',monospace" font-size="14">` + "\n")
	for y, row := range all {
		baseline := padTop + float64(y)*cellH + cellH*0.75
		col := 0
		for i := 0; i < len(row); {
			// A run: a word of ASCII characters of one style, or one other
			// character; spaces are not drawn, only counted.
			if row[i].text == " " {
				col++
				i++
				continue
			}
			j := i + 1
			if isASCII(row[i].text) {
				for j < len(row) && isASCII(row[j].text) && row[j].text != " " && row[j].style.Equal(&row[i].style) {
					j++
				}
			}
			var text strings.Builder
			width := 0
			for _, c := range row[i:j] {
				text.WriteString(c.text)
				width++
				if c.wide {
					width++
				}
			}
			// Each run is stretched or squeezed to its cells: a font whose
			// advance is not cellW still lines the columns up.
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" textLength="%.1f" lengthAdjust="spacingAndGlyphs"%s>%s</text>`+"\n",
				padX+float64(col)*cellW, baseline, float64(width)*cellW, attrs(row[i].style), html.EscapeString(text.String()))
			col += width
			i = j
		}
	}
	b.WriteString("</g>\n</svg>\n")
	return b.Bytes()
}

func blank(row []cell) bool {
	for _, c := range row {
		if strings.TrimSpace(c.text) != "" {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	return len(s) == 1 && s[0] < 0x80
}

// attrs are the SVG attributes of a style: its color, weight and
// faintness.
func attrs(st uv.Style) string {
	fill := foreground
	if st.Fg != nil {
		fill = hex(st.Fg)
	}
	a := fmt.Sprintf(` fill="%s"`, fill)
	if st.Attrs&uv.AttrBold != 0 {
		a += ` font-weight="bold"`
	}
	if st.Attrs&uv.AttrFaint != 0 {
		a += ` fill-opacity="0.6"`
	}
	return a
}

// hex is a color of the theme: the basic colors from its palette, others
// as they are.
func hex(c color.Color) string {
	switch c := c.(type) {
	case ansi.BasicColor:
		return palette[int(c)%len(palette)]
	case ansi.IndexedColor:
		if int(c) < len(palette) {
			return palette[c]
		}
	}
	r, g, bl, _ := c.RGBA()
	return fmt.Sprintf("#%02x%02x%02x", r>>8, g>>8, bl>>8)
}
