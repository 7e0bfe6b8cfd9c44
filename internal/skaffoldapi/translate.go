// Package skaffoldapi translates hoist's events into the events of
// Skaffold's own Event APIs, v1 (proto.SkaffoldService) and v2
// (proto.v2.SkaffoldV2Service), and folds them into the State that
// Skaffold's GetState returns, so that clients written for Skaffold (IDE
// plugins, test harnesses, scripts) work against hoist unchanged.
//
// A translator (NewV1, NewV2) reads one run's envelopes in sequence order
// from the first, and for each returns the Skaffold events that Skaffold
// sends at that point of the same run: the v2 task model (DevLoop-N,
// Build-N, Test-N, Render-N, Deploy-N, StatusCheck-N, PortForward-N, with
// Skaffold's iteration numbering: 0 outside hoist dev, from 1 in it), the
// build subtasks of each artifact with their Cache and Build steps, build
// and deploy output as skaffoldLogEvents, Skaffold's resource names and
// status strings, and ActionableErrs whose codes come from the table in
// internal/fault (fault.Skaffold). Where hoist does in one step what
// Skaffold reports as two (hoist hydrates manifests as part of its deploy),
// the translation reports both, in Skaffold's order. A translator is
// deterministic and keeps only the run's current position, so that a
// subscriber of a long run pays for every event it translates and no more.
package skaffoldapi

import (
	"strconv"
	"strings"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
)

// phase is a phase of a run, as Skaffold names its tasks and picks its
// error codes.
type phase uint8

const (
	phaseNone phase = iota
	phaseBuild
	phaseTest
	phaseRender
	phaseDeploy
	phaseStatusCheck
	phasePortForward
	phaseSync
	phaseDevLoop
	phaseCleanup
	phaseCount
)

// taskNames are Skaffold's names of the phases (constants.Phase), which
// make the v2 task ids: "Build-1".
var taskNames = [phaseCount]string{
	phaseBuild:       "Build",
	phaseTest:        "Test",
	phaseRender:      "Render",
	phaseDeploy:      "Deploy",
	phaseStatusCheck: "StatusCheck",
	phasePortForward: "PortForward",
	phaseSync:        "Sync",
	phaseDevLoop:     "DevLoop",
	phaseCleanup:     "Cleanup",
}

// taskDescriptions are the descriptions Skaffold gives a task when it
// starts.
var taskDescriptions = [phaseCount]string{
	phaseBuild:       "Build containers",
	phaseTest:        "Test",
	phaseRender:      "Render Manifests",
	phaseDeploy:      "Deploy to cluster",
	phaseStatusCheck: "Status Checking Deployed Artifacts",
	phasePortForward: "Port forward URLs",
}

// sequential are the phases whose tasks hoist runs one after the other.
var sequential = [...]phase{phaseBuild, phaseTest, phaseRender, phaseDeploy}

// noSubtask is Skaffold's subtask id for output that belongs to no
// subtask (constants.SubtaskIDNone).
const noSubtask = "-1"

// stepKind is one kind of thing Skaffold reports.
type stepKind uint8

const (
	stepMeta           stepKind = iota + 1
	stepIterationStart          // a dev loop iteration started
	stepIterationEnd            // it ended: status, err
	stepTaskStart               // the task of phase started
	stepTaskEnd                 // it ended: status, err
	stepCacheStart              // an artifact's cache check started (subtask: the image)
	stepCacheEnd                // it ended: SUCCEEDED (a hit) or FAILED (a miss)
	stepBuildStart              // an artifact's build step started
	stepBuildEnd                // it ended: status, err
	stepLog                     // a line of output of a phase's subtask
	stepTestStart               // a test subtask started (subtask: its index)
	stepTestEnd                 // it ended
	stepRenderStart             // a render subtask started (subtask: its index)
	stepRenderEnd               // it ended
	stepDeployStart             // a deployer started (subtask: its index)
	stepDeployEnd               // it ended
	stepDeployDone              // every deployer of the deploy succeeded
	stepResource                // a watched resource's progress (subtask: Skaffold's name of it)
	stepPort                    // a port forward
	stepAppLog                  // a line of a deployed container
	stepSync                    // a file sync started or ended
	stepTermination             // the run ended
)

// step is one thing Skaffold reports, read from hoist's events. It is
// passed by value so that reading a line of build output allocates
// nothing.
type step struct {
	kind    stepKind
	phase   phase
	subtask string
	status  pb.Status
	err     *pb.Error
	// errPhase is the phase whose codes err takes.
	errPhase phase
	// line is a line of output, without its newline; for a file sync,
	// the reference of the image synced.
	line string
	// kind of a resource (lowercase), for its pending code.
	resourceKind string
	env          *pb.Envelope
}

// stepper is what a translator does with the steps the reader finds.
type stepper interface {
	step(s step)
}

// reader reads one run's envelopes in order and finds in them the steps
// that Skaffold reports, in Skaffold's order: it opens and closes the
// tasks hoist's events imply, decides each artifact's cache check, and
// numbers deployers and tests.
type reader struct {
	out stepper

	command string
	// iter is hoist's dev loop iteration, 0 outside hoist dev;
	// inIteration tells whether one is running.
	iter        uint32
	inIteration bool

	open   [phaseCount]bool
	failed [phaseCount]*pb.Error
	// iterErr is the error that failed the iteration, and iterErrPhase
	// its phase.
	iterErr      *pb.Error
	iterErrPhase phase

	// running counts, by phase, the subtasks that started and did not end.
	running [phaseCount]int

	builds map[string]*artifactBuild
	// refs are the references last built of each artifact, which Skaffold
	// names in its fileSyncEvents.
	refs map[string]string
	// tests are the test subtask ids of the current Test task, by image.
	tests map[string]string
	// deployStarted counts the deployers of the current deploy that
	// started. pending is the subtask id of the deployer whose success is
	// reported once its status check ends, as Skaffold checks the status
	// of each deployer's resources before it reports the deployer's end
	// (--iterative-status-check, on by default).
	deployStarted int
	pending       string
	// heldPorts are the portEvents that came during the deploy.
	heldPorts []*pb.Envelope
}

// artifactBuild is where one artifact's build stands in the current Build
// task.
type artifactBuild struct {
	// started: its cache check was reported; decided: its cache check
	// ended (and, on a miss, its Build step started).
	started, decided bool
}

func newReader(out stepper) reader {
	return reader{out: out, builds: map[string]*artifactBuild{}, refs: map[string]string{}, tests: map[string]string{}}
}

func (r *reader) emit(s step) { r.out.step(s) }

// read reads the next envelope of the run.
func (r *reader) read(env *pb.Envelope) {
	switch p := env.GetEvent().GetPayload().(type) {
	case *pb.Event_MetaEvent:
		r.command = p.MetaEvent.Command
		r.emit(step{kind: stepMeta, env: env})
	case *pb.Event_BuildEvent:
		r.build(env, p.BuildEvent)
	case *pb.Event_TestEvent:
		r.test(env, p.TestEvent)
	case *pb.Event_RenderEvent:
		r.render(env, p.RenderEvent)
	case *pb.Event_DeployEvent:
		r.deploy(env, p.DeployEvent)
	case *pb.Event_StatusCheckEvent:
		r.statusCheck(env, p.StatusCheckEvent)
	case *pb.Event_DevLoopEvent:
		r.devLoop(env, p.DevLoopEvent)
	case *pb.Event_PortEvent:
		if r.open[phaseDeploy] {
			// A forward that moves to a new pod while a deploy rolls out
			// is reported once the deploy ends, where Skaffold restarts
			// its forwards.
			r.heldPorts = append(r.heldPorts, env)
			return
		}
		r.emit(step{kind: stepPort, phase: phasePortForward, env: env})
	case *pb.Event_ApplicationLogEvent:
		r.emit(step{kind: stepAppLog, env: env})
	case *pb.Event_FileSyncEvent:
		e := p.FileSyncEvent
		if isFailure(e.Status) {
			r.fail(phaseSync, e.Error)
		}
		ref := r.refs[e.Image]
		if ref == "" {
			ref = e.Image
		}
		r.emit(step{kind: stepSync, phase: phaseSync, subtask: e.Image, line: ref, status: e.Status, err: e.Error, errPhase: phaseSync, env: env})
	case *pb.Event_TerminationEvent:
		e := p.TerminationEvent
		r.closeAll(env, e.Status, e.Error)
		r.emit(step{kind: stepTermination, status: e.Status, err: e.Error, errPhase: phaseNone, env: env})
	}
}

// build reads a buildEvent: an artifact's start, a line of its output, or
// its end. Skaffold checks each artifact's cache before building it: the
// Cache step is decided at the first line that is a build step, or at the
// end, SKIPPED being a hit.
func (r *reader) build(env *pb.Envelope, e *pb.BuildEvent) {
	if e.Status == pb.Status_IN_PROGRESS && e.Log == "" && e.Step == nil {
		r.buildStart(env, e.Image)
		return
	}
	if tag := e.Artifact.GetTag(); tag != "" {
		r.refs[e.Image] = tag
	}
	b := r.builds[e.Image]
	switch e.Status {
	case pb.Status_IN_PROGRESS:
		if b == nil || !b.started {
			b = r.buildStart(env, e.Image)
		}
		if e.Step != nil && !b.decided {
			r.cacheMiss(env, e.Image, b)
		}
		r.emit(step{kind: stepLog, phase: phaseBuild, subtask: e.Image, line: e.Log, env: env})
	case pb.Status_SKIPPED:
		if b == nil || !b.started {
			b = r.buildStart(env, e.Image)
		}
		r.running[phaseBuild]--
		if !b.decided {
			b.decided = true
			r.emit(step{kind: stepCacheEnd, phase: phaseBuild, subtask: e.Image, status: pb.Status_SUCCEEDED, env: env})
			return
		}
		r.emit(step{kind: stepBuildEnd, phase: phaseBuild, subtask: e.Image, status: pb.Status_SUCCEEDED, env: env})
	case pb.Status_SUCCEEDED:
		r.running[phaseBuild]--
		if b == nil || !b.started {
			b = r.buildStart(env, e.Image)
		}
		if !b.decided {
			r.cacheMiss(env, e.Image, b)
		}
		r.emit(step{kind: stepBuildEnd, phase: phaseBuild, subtask: e.Image, status: pb.Status_SUCCEEDED, env: env})
	default:
		// A build canceled while it waited for its turn never started:
		// Skaffold reports only its Build step's end.
		if !r.open[phaseBuild] {
			r.before(env, phaseBuild)
			r.taskStart(env, phaseBuild)
			b = nil
		}
		if b != nil && b.started {
			r.running[phaseBuild]--
			if !b.decided {
				r.cacheMiss(env, e.Image, b)
			}
		}
		r.fail(phaseBuild, e.Error)
		r.emit(step{kind: stepBuildEnd, phase: phaseBuild, subtask: e.Image, status: e.Status, err: e.Error, errPhase: phaseBuild, env: env})
	}
}

// buildStart opens the Build task if needed and starts image's cache
// check.
func (r *reader) buildStart(env *pb.Envelope, image string) *artifactBuild {
	r.before(env, phaseBuild)
	if !r.open[phaseBuild] {
		r.taskStart(env, phaseBuild)
	}
	b := r.builds[image]
	if b == nil {
		b = &artifactBuild{}
		r.builds[image] = b
	}
	*b = artifactBuild{started: true}
	r.running[phaseBuild]++
	r.emit(step{kind: stepCacheStart, phase: phaseBuild, subtask: image, env: env})
	return b
}

// cacheMiss ends image's cache check as a miss and starts its Build step.
func (r *reader) cacheMiss(env *pb.Envelope, image string, b *artifactBuild) {
	b.decided = true
	r.emit(step{kind: stepCacheEnd, phase: phaseBuild, subtask: image, status: pb.Status_FAILED, env: env})
	r.emit(step{kind: stepBuildStart, phase: phaseBuild, subtask: image, env: env})
}

// test reads a testEvent: an image's tests starting, a line, or their end.
func (r *reader) test(env *pb.Envelope, e *pb.TestEvent) {
	if e.Status == pb.Status_IN_PROGRESS && e.Log == "" {
		r.before(env, phaseTest)
		if !r.open[phaseTest] {
			r.taskStart(env, phaseTest)
			clear(r.tests)
		}
		r.running[phaseTest]++
		r.emit(step{kind: stepTestStart, status: pb.Status_IN_PROGRESS, phase: phaseTest, subtask: r.testID(e.Image), env: env})
		return
	}
	id := r.testID(e.Image)
	if e.Status == pb.Status_IN_PROGRESS {
		r.emit(step{kind: stepLog, phase: phaseTest, subtask: id, line: e.Log, env: env})
		return
	}
	r.running[phaseTest]--
	if isFailure(e.Status) {
		r.fail(phaseTest, e.Error)
	}
	r.emit(step{kind: stepTestEnd, phase: phaseTest, subtask: id, status: e.Status, err: e.Error, errPhase: phaseTest, env: env})
}

// testID is the id of image's test subtask in the current Test task:
// Skaffold numbers its testers from 0.
func (r *reader) testID(image string) string {
	id, ok := r.tests[image]
	if !ok {
		id = strconv.Itoa(len(r.tests))
		r.tests[image] = id
	}
	return id
}

// render reads a renderEvent of hoist render.
func (r *reader) render(env *pb.Envelope, e *pb.RenderEvent) {
	if e.Status == pb.Status_IN_PROGRESS {
		r.before(env, phaseRender)
		r.taskStart(env, phaseRender)
		r.emit(step{kind: stepRenderStart, status: pb.Status_IN_PROGRESS, phase: phaseRender, subtask: "0", env: env})
		return
	}
	if isFailure(e.Status) {
		r.fail(phaseRender, e.Error)
	}
	r.emit(step{kind: stepRenderEnd, phase: phaseRender, subtask: "0", status: e.Status, err: e.Error, errPhase: phaseRender, env: env})
	r.taskEnd(env, phaseRender, e.Status, e.Error, phaseRender)
}

// deploy reads a deployEvent: a deployer's start, an object it applied,
// or its end. What hoist delete, and hoist dev when it cleans up, delete
// is reported as the output of a Cleanup task, as Skaffold reports no
// deploy for it.
func (r *reader) deploy(env *pb.Envelope, e *pb.DeployEvent) {
	if r.command == "delete" || r.command == "dev" && !r.inIteration {
		r.cleanup(env, e)
		return
	}
	idx := strconv.Itoa(max(r.deployStarted-1, 0))
	switch {
	case e.Status == pb.Status_IN_PROGRESS && len(e.Resources) == 0 && e.Log == "":
		if !r.open[phaseDeploy] {
			r.before(env, phaseDeploy)
			// hoist hydrates the manifests as part of its deploy; Skaffold
			// renders them first, as a task of its own.
			r.taskStart(env, phaseRender)
			r.emit(step{kind: stepRenderStart, status: pb.Status_IN_PROGRESS, phase: phaseRender, subtask: "0", env: env})
			r.emit(step{kind: stepRenderEnd, phase: phaseRender, subtask: "0", status: pb.Status_SUCCEEDED, env: env})
			r.taskEnd(env, phaseRender, pb.Status_SUCCEEDED, nil, phaseRender)
			r.taskStart(env, phaseDeploy)
			r.deployStarted, r.pending = 0, ""
		}
		r.flushDeployer(env, pb.Status_SUCCEEDED, nil, phaseDeploy)
		idx = strconv.Itoa(r.deployStarted)
		r.deployStarted++
		r.running[phaseDeploy]++
		r.emit(step{kind: stepDeployStart, status: pb.Status_IN_PROGRESS, phase: phaseDeploy, subtask: idx, env: env})
	case e.Status == pb.Status_IN_PROGRESS:
		for _, res := range e.Resources {
			r.emit(step{kind: stepLog, phase: phaseDeploy, subtask: idx, line: resourceLine(res), env: env})
		}
		if e.Log != "" {
			r.emit(step{kind: stepLog, phase: phaseDeploy, subtask: idx, line: e.Log, env: env})
		}
	case e.Status == pb.Status_SUCCEEDED:
		r.running[phaseDeploy]--
		if !r.open[phaseDeploy] {
			r.emit(step{kind: stepDeployEnd, phase: phaseDeploy, subtask: idx, status: e.Status, env: env})
			return
		}
		r.pending = idx
	default:
		if r.pending == idx {
			// A deployer's post-deploy hook failed after it deployed.
			r.pending = ""
		} else {
			r.running[phaseDeploy]--
		}
		r.flushDeployer(env, pb.Status_SUCCEEDED, nil, phaseDeploy)
		r.fail(phaseDeploy, e.Error)
		r.emit(step{kind: stepDeployEnd, phase: phaseDeploy, subtask: idx, status: e.Status, err: e.Error, errPhase: phaseDeploy, env: env})
		if !r.open[phaseStatusCheck] {
			r.taskEnd(env, phaseDeploy, e.Status, e.Error, phaseDeploy)
		}
	}
}

// flushDeployer reports the end of the deployer whose success waited for
// its status check, with the outcome of that check.
func (r *reader) flushDeployer(env *pb.Envelope, status pb.Status, err *pb.Error, errPhase phase) {
	if r.pending == "" {
		return
	}
	idx := r.pending
	r.pending = ""
	r.emit(step{kind: stepDeployEnd, phase: phaseDeploy, subtask: idx, status: status, err: err, errPhase: errPhase, env: env})
}

// endDeploy ends the Deploy task with the outcome of its status check (or
// of the deployers, when none follows): the pending deployer's end, then,
// on success, the end of the whole deploy, which v1 reports.
func (r *reader) endDeploy(env *pb.Envelope, status pb.Status, err *pb.Error, errPhase phase) {
	if !r.open[phaseDeploy] {
		r.flushDeployer(env, status, err, errPhase)
		return
	}
	if isFailure(status) {
		if r.pending == "" {
			r.pending = strconv.Itoa(max(r.deployStarted-1, 0))
		}
		r.flushDeployer(env, status, err, errPhase)
		r.taskEnd(env, phaseDeploy, status, err, errPhase)
		return
	}
	r.flushDeployer(env, pb.Status_SUCCEEDED, nil, phaseDeploy)
	r.emit(step{kind: stepDeployDone, phase: phaseDeploy, env: env})
	r.taskEnd(env, phaseDeploy, pb.Status_SUCCEEDED, nil, phaseDeploy)
}

// cleanup reports what a delete did as output lines.
func (r *reader) cleanup(env *pb.Envelope, e *pb.DeployEvent) {
	for _, res := range e.Resources {
		r.emit(step{kind: stepLog, phase: phaseCleanup, subtask: noSubtask, line: resourceLine(res), env: env})
	}
	if e.Log != "" {
		r.emit(step{kind: stepLog, phase: phaseCleanup, subtask: noSubtask, line: e.Log, env: env})
	}
	if e.Error != nil {
		r.emit(step{kind: stepLog, phase: phaseCleanup, subtask: noSubtask, line: e.Error.Message, env: env})
	}
}

// statusCheck reads a statusCheckEvent: the check's start or end, or a
// resource's progress.
func (r *reader) statusCheck(env *pb.Envelope, e *pb.StatusCheckEvent) {
	if e.Resource != "" {
		kind, name := skaffoldResource(e.Resource)
		if isFailure(e.Status) {
			r.fail(phaseStatusCheck, e.Error)
		}
		r.emit(step{kind: stepResource, phase: phaseDeploy, subtask: name, status: e.Status, line: e.Message,
			err: e.Error, errPhase: phaseStatusCheck, resourceKind: kind, env: env})
		return
	}
	if e.Status == pb.Status_IN_PROGRESS {
		r.taskStart(env, phaseStatusCheck)
		if e.Message != "" {
			// Skaffold prints it to the output of the deployer whose
			// resources it checks.
			sub := r.pending
			if sub == "" {
				sub = noSubtask
			}
			r.emit(step{kind: stepLog, phase: phaseDeploy, subtask: sub, line: e.Message, env: env})
		}
		return
	}
	if isFailure(e.Status) {
		r.fail(phaseStatusCheck, e.Error)
	}
	r.taskEnd(env, phaseStatusCheck, e.Status, e.Error, phaseStatusCheck)
	r.endDeploy(env, e.Status, e.Error, phaseStatusCheck)
}

// devLoop reads a devLoopEvent: an iteration's start or end.
func (r *reader) devLoop(env *pb.Envelope, e *pb.DevLoopEvent) {
	if e.Status == pb.Status_IN_PROGRESS {
		r.closeAll(env, pb.Status_SUCCEEDED, nil)
		r.iter, r.inIteration = e.Iteration, true
		r.iterErr, r.iterErrPhase = nil, phaseNone
		r.failed = [phaseCount]*pb.Error{}
		r.emit(step{kind: stepIterationStart, phase: phaseDevLoop, env: env})
		return
	}
	r.closeAll(env, e.Status, e.Error)
	r.inIteration = false
	s := step{kind: stepIterationEnd, phase: phaseDevLoop, status: e.Status, env: env}
	switch {
	case e.Error != nil:
		s.err, s.errPhase = e.Error, phaseDevLoop
	case isFailure(e.Status):
		s.err, s.errPhase = r.iterErr, r.iterErrPhase
	}
	r.emit(s)
}

// fail records the failure of a phase: the first error of its task, and
// the error that fails the iteration.
func (r *reader) fail(p phase, err *pb.Error) {
	if r.failed[p] == nil {
		r.failed[p] = err
	}
	r.iterErr, r.iterErrPhase = r.failed[p], p
}

func (r *reader) taskStart(env *pb.Envelope, p phase) {
	r.open[p] = true
	r.failed[p] = nil
	r.running[p] = 0
	if p == phaseBuild {
		clear(r.builds)
	}
	r.emit(step{kind: stepTaskStart, phase: p, env: env})
}

// taskEnd ends the task of p, when it is open, with status and err (whose
// codes are those of errPhase).
func (r *reader) taskEnd(env *pb.Envelope, p phase, status pb.Status, err *pb.Error, errPhase phase) {
	if !r.open[p] {
		return
	}
	r.open[p] = false
	r.emit(step{kind: stepTaskEnd, phase: p, status: status, err: err, errPhase: errPhase, env: env})
	if p == phaseDeploy {
		for i, held := range r.heldPorts {
			r.emit(step{kind: stepPort, phase: phasePortForward, env: held})
			r.heldPorts[i] = nil
		}
		r.heldPorts = r.heldPorts[:0]
	}
}

// closeTask ends an open task of p with the outcome of what it did:
// FAILED with its first error when something in it failed; when work of
// it was still running, the outcome of what ends it (status and err),
// such as a cancellation.
func (r *reader) closeTask(env *pb.Envelope, p phase, status pb.Status, err *pb.Error) {
	if !r.open[p] {
		return
	}
	switch {
	case r.failed[p] != nil:
		r.taskEnd(env, p, pb.Status_FAILED, r.failed[p], p)
	case (r.running[p] > 0 || p == phaseStatusCheck) && isFailure(status):
		r.taskEnd(env, p, status, err, p)
	default:
		r.taskEnd(env, p, pb.Status_SUCCEEDED, nil, p)
	}
}

// before closes the tasks that are done once a task of p starts: every
// other open one, as hoist runs its phases one after the other.
func (r *reader) before(env *pb.Envelope, p phase) {
	r.closeExcept(env, p, pb.Status_SUCCEEDED, nil)
}

// closeAll closes every open task at the end of an iteration or of the
// run, which ended with status and err.
func (r *reader) closeAll(env *pb.Envelope, status pb.Status, err *pb.Error) {
	r.closeExcept(env, phaseNone, status, err)
}

func (r *reader) closeExcept(env *pb.Envelope, p phase, status pb.Status, err *pb.Error) {
	for _, q := range sequential {
		if q == p || !r.open[q] {
			continue
		}
		if q != phaseDeploy {
			r.closeTask(env, q, status, err)
			continue
		}
		r.closeDeploy(env, status, err)
	}
}

// closeDeploy closes the Deploy task and its status check, at the start
// of another phase or at the end of the iteration or run, which ended
// with status and err.
func (r *reader) closeDeploy(env *pb.Envelope, status pb.Status, err *pb.Error) {
	if r.open[phaseStatusCheck] {
		r.closeTask(env, phaseStatusCheck, status, err)
		if checkErr := r.failed[phaseStatusCheck]; checkErr != nil || isFailure(status) {
			if checkErr == nil {
				checkErr = err
			}
			r.endDeploy(env, pb.Status_FAILED, checkErr, phaseStatusCheck)
			return
		}
	}
	switch {
	case r.failed[phaseDeploy] != nil:
		r.flushDeployer(env, pb.Status_SUCCEEDED, nil, phaseDeploy)
		r.taskEnd(env, phaseDeploy, pb.Status_FAILED, r.failed[phaseDeploy], phaseDeploy)
	case r.running[phaseDeploy] > 0 && isFailure(status):
		r.endDeploy(env, status, err, phaseDeploy)
	default:
		r.endDeploy(env, pb.Status_SUCCEEDED, nil, phaseDeploy)
	}
}

// isFailure tells whether status ends something that did not succeed.
func isFailure(s pb.Status) bool {
	return s == pb.Status_FAILED || s == pb.Status_CANCELED
}

// splitList splits a comma-separated list, such as the metaEvent's
// deployers.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// resourceLine is the output line of an object a deploy applied, as
// kubectl prints it: "deployment/app created".
func resourceLine(res *pb.Resource) string {
	return strings.ToLower(res.Kind) + "/" + res.Name + " " + res.Action
}

// skaffoldResource turns hoist's name of a watched resource
// (kind/namespace/name, such as Deployment/default/app) into its kind and
// Skaffold's name of it: "deployment/app", or "ns:deployment/app" outside
// the default namespace. A name without a namespace (container/NAME of the
// Docker deployer) stays as it is.
func skaffoldResource(res string) (kind, name string) {
	parts := strings.SplitN(res, "/", 3)
	if len(parts) != 3 {
		if len(parts) == 2 {
			return strings.ToLower(parts[0]), res
		}
		return "", res
	}
	kind = strings.ToLower(parts[0])
	if parts[1] == "default" || parts[1] == "" {
		return kind, kind + "/" + parts[2]
	}
	return kind, parts[1] + ":" + kind + "/" + parts[2]
}
