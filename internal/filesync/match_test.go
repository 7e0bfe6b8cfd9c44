package filesync

import "testing"

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"app/www/**", "app/www/index.html", true},
		{"app/www/**", "app/www/css/site.css", true},
		{"app/www/**", "app/serve.sh", false},
		{"app/www/**", "app/wwwx/index.html", false},
		{"**/*.js", "main.js", true},
		{"**/*.js", "src/lib/a.js", true},
		{"**/*.js", "src/lib/a.ts", false},
		{"src/**/test/*.py", "src/test/a.py", true},
		{"src/**/test/*.py", "src/a/b/test/a.py", true},
		{"src/**/test/*.py", "src/a/b/test/sub/a.py", false},
		{"*.html", "index.html", true},
		{"*.html", "www/index.html", false},
		{"www/*", "www/index.html", true},
		{"www/[ab].txt", "www/a.txt", true},
		{"www/[a", "www/[a", false}, // malformed
		{"./www/*.html", "www/index.html", true},
		{"**", "anything/at/all", true},
	} {
		if got := Match(tc.pattern, tc.name); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}
