package filesync

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestInferCopies(t *testing.T) {
	prod := "prod"
	for _, tc := range []struct {
		name       string
		dockerfile string
		args       map[string]*string
		target     string
		want       []copyRule
		wantErr    string
	}{
		{
			name:       "absolute destinations",
			dockerfile: "FROM busybox\nCOPY app/ /app/\nCOPY serve.sh /usr/bin/serve\n",
			want: []copyRule{
				{Src: "app", Dest: "/app", DestIsDir: true, Line: 2},
				{Src: "serve.sh", Dest: "/usr/bin/serve", Line: 3},
			},
		},
		{
			name:       "a relative destination is resolved against WORKDIR",
			dockerfile: "FROM busybox\nWORKDIR /srv\nWORKDIR web\nCOPY . .\nCOPY a.txt b.txt conf/\n",
			want: []copyRule{
				{Src: ".", Dest: "/srv/web", DestIsDir: true, Line: 4},
				{Src: "a.txt", Dest: "/srv/web/conf", DestIsDir: true, Line: 5},
				{Src: "b.txt", Dest: "/srv/web/conf", DestIsDir: true, Line: 5},
			},
		},
		{
			name:       "before any WORKDIR, the base image's is not known",
			dockerfile: "FROM node\nCOPY package.json ./\n",
			want:       []copyRule{{Src: "package.json", Dest: "", DestIsDir: true, Line: 2}},
		},
		{
			name: "ARG and ENV are expanded, build arguments over defaults",
			dockerfile: `ARG MODE=dev
FROM busybox
ARG MODE
ARG ROOT=/opt
ENV WEB=$ROOT/web
COPY config.${MODE}.yaml $WEB/config.yaml
COPY --chown=1000 static/ ${WEB}/static/
`,
			args: map[string]*string{"MODE": &prod},
			want: []copyRule{
				{Src: "config.prod.yaml", Dest: "/opt/web/config.yaml", Line: 6},
				{Src: "static", Dest: "/opt/web/static", DestIsDir: true, Line: 7},
			},
		},
		{
			name: "multi-stage: the final stage only, without --from, with the WORKDIR of the stage it builds on",
			dockerfile: `FROM golang AS build
WORKDIR /go/src
COPY . .
RUN go build -o /out/app
FROM busybox AS base
WORKDIR /app
ENV DIR=www
FROM base
COPY --from=build /out/app /usr/bin/app
COPY www/ $DIR/
COPY *.html ./
`,
			want: []copyRule{
				{Src: "www", Dest: "/app/www", DestIsDir: true, Line: 10},
				{Src: "*.html", Dest: "/app", DestIsDir: true, Line: 11},
			},
		},
		{
			name:       "docker.target picks the stage",
			dockerfile: "FROM busybox AS dev\nCOPY dev/ /app/\nFROM busybox AS prod\nCOPY prod/ /app/\n",
			target:     "dev",
			want:       []copyRule{{Src: "dev", Dest: "/app", DestIsDir: true, Line: 2}},
		},
		{
			name:       "ADD: URLs are left out, archives cannot be mirrored",
			dockerfile: "FROM busybox\nADD https://example.com/a.txt /a.txt\nADD deps.tar.gz /opt/\nADD notes.txt /notes.txt\n",
			want: []copyRule{
				{Src: "deps.tar.gz", Dest: "/opt", DestIsDir: true, Unknown: true, Line: 3},
				{Src: "notes.txt", Dest: "/notes.txt", Line: 4},
			},
		},
		{
			name:       "COPY --exclude and --parents",
			dockerfile: "# syntax=docker/dockerfile:1.7-labs\nFROM busybox\nCOPY --exclude=*.md docs/ /docs/\nCOPY --parents src/*/main.go /build/\n",
			want: []copyRule{
				{Src: "docs", Dest: "/docs", DestIsDir: true, Exclude: []string{"*.md"}, Line: 3},
				{Src: "src/*/main.go", Dest: "/build", DestIsDir: true, Unknown: true, Line: 4},
			},
		},
		{
			name:       "an unknown target",
			dockerfile: "FROM busybox\n",
			target:     "prod",
			wantErr:    `no stage named "prod"`,
		},
		{
			name:       "not a Dockerfile",
			dockerfile: "COPY a /b\n",
			wantErr:    "",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := InferCopies([]byte(tc.dockerfile), tc.args, tc.target)
			if tc.want == nil {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("InferCopies = %+v, %v; want an error with %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("InferCopies (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInferredDestinations(t *testing.T) {
	rules := []copyRule{
		{Src: "app", Dest: "/app", DestIsDir: true},
		{Src: "serve.sh", Dest: "/usr/bin/serve"},
		{Src: "*.html", Dest: "/www", DestIsDir: true},
		{Src: "docs", Dest: "/docs", DestIsDir: true, Exclude: []string{"**/*.md"}},
		{Src: "conf/*", Dest: "/etc/app", DestIsDir: true},
		{Src: "package.json", Dest: ""},
	}
	for _, tc := range []struct {
		rel     string
		want    []string
		wantErr string
	}{
		{rel: "app/www/index.html", want: []string{"/app/www/index.html"}},
		{rel: "serve.sh", want: []string{"/usr/bin/serve"}},
		{rel: "index.html", want: []string{"/www/index.html"}},
		{rel: "docs/guide.txt", want: []string{"/docs/guide.txt"}},
		{rel: "docs/guide.md", wantErr: "does not copy"},
		// conf/* matches the folder conf/d: its content goes under /etc/app/d.
		{rel: "conf/d/x.conf", want: []string{"/etc/app/x.conf"}},
		{rel: "conf/a.conf", want: []string{"/etc/app/a.conf"}},
		{rel: "package.json", wantErr: "relative to the base image's WORKDIR"},
		{rel: "other.txt", wantErr: "does not copy"},
	} {
		got, err := inferredDestinations(rules, tc.rel)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("inferredDestinations(%s) = %v, %v; want an error with %q", tc.rel, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("inferredDestinations(%s): %v", tc.rel, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("inferredDestinations(%s) (-want +got):\n%s", tc.rel, diff)
		}
	}
}
