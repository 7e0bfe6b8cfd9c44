package session

import (
	"context"

	skaffoldv1 "github.com/hoist-dev/hoist/api/skaffold/v1"
	skaffoldv2 "github.com/hoist-dev/hoist/api/skaffold/v2"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/deploy/kubectl"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/skaffoldapi"
)

// skaffoldTranslators makes the translators of the run's events into
// Skaffold's v1 and v2 APIs, for its server and its Skaffold event log
// files.
type skaffoldTranslators struct {
	opts skaffoldapi.Options
}

func newSkaffoldTranslators(o Options, cfg *config.Config, triggers func() skaffoldapi.Triggers) skaffoldTranslators {
	var opts skaffoldapi.Options
	if cfg != nil {
		// Without a kube context the cluster type is OTHER, which is what
		// a context that cannot be read would give too.
		kubeContext, _ := kubectl.CurrentContext(o.Profiles.Kubeconfig, o.Profiles.KubeContext)
		opts = skaffoldapi.OptionsFor(cfg, kubeContext)
	}
	opts.Triggers = triggers
	return skaffoldTranslators{opts: opts}
}

func (t skaffoldTranslators) v1() skaffoldapi.Translator[*skaffoldv1.Event, *skaffoldv1.State] {
	return skaffoldapi.NewV1(t.opts)
}

func (t skaffoldTranslators) v2() skaffoldapi.Translator[*skaffoldv2.Event, *skaffoldv2.State] {
	return skaffoldapi.NewV2(t.opts)
}

// prepareServer makes the run's Event API and Skaffold's API beside it,
// when o asks for them; startServer serves them.
func (s *session) prepareServer(o Options, cfg *config.Config, dev bool) {
	if !o.Server.serves() {
		return
	}
	s.api = &rpc.Server{Bus: s.bus, State: s.state, Control: s.control}
	tr := newSkaffoldTranslators(o, cfg, s.skaffoldTriggers)
	s.skaffold = skaffoldapi.NewServer(skaffoldapi.ServerOptions{API: s.api, NewV1: tr.v1, NewV2: tr.v2, Dev: dev})
	s.api.Services = []rpc.Service{s.skaffold}
}

// skaffoldTriggers are the dev loop's automatic triggers, for Skaffold's
// state: all on until the loop runs, as Skaffold's defaults are.
func (s *session) skaffoldTriggers() skaffoldapi.Triggers {
	if s.skaffold != nil {
		if b, d, y, ok := s.skaffold.Triggers(); ok {
			return skaffoldapi.Triggers{Build: b, Deploy: d, Sync: y}
		}
	}
	return skaffoldapi.Triggers{Build: true, Deploy: true, Sync: true}
}

// openSkaffoldLog opens --skaffold-event-log-file and follows the run
// with it.
func (s *session) openSkaffoldLog(ctx context.Context, o Options, cfg *config.Config) error {
	tr := newSkaffoldTranslators(o, cfg, s.skaffoldTriggers)
	f, err := skaffoldapi.OpenLogFile(skaffoldapi.LogFileOptions{Path: o.SkaffoldLogFile, NewV1: tr.v1, NewV2: tr.v2, Server: s.skaffold})
	if err != nil {
		return fault.Wrap(err, fault.EventLogFileFailed,
			"opening the Skaffold event log files", "check that their folder is writable, or change --skaffold-event-log-file")
	}
	s.files = append(s.files, f)
	s.follow(ctx, f)
	return nil
}
