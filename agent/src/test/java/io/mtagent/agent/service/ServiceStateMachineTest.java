package io.mtagent.agent.service;

import static io.mtagent.agent.service.ServiceStateMachine.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The Windows service status protocol, driven exactly as WindowsServiceHost drives it, minus SetServiceStatus. */
class ServiceStateMachineTest {
    private final List<Status> reported = new ArrayList<>();
    private final AtomicInteger stops = new AtomicInteger();
    private final ServiceStateMachine m = new ServiceStateMachine(reported::add, stops::incrementAndGet);

    @Test
    void pendingRunningStopPendingStopped() {
        m.begin();
        m.starting("recovering ingest log of disk a");
        m.starting("recovering ingest log of disk b");
        assertThat(reported).extracting(Status::state).containsOnly(SERVICE_START_PENDING);
        assertThat(reported).extracting(Status::checkPoint).containsExactly(1, 2, 3); // advances: the SCM waits
        assertThat(reported).allSatisfy(s -> {
            assertThat(s.waitHintMillis()).isEqualTo((int) START_WAIT_HINT.toMillis());
            assertThat(s.controlsAccepted()).isZero(); // no stop while recovering
        });
        m.ready("ready");
        Status running = m.current();
        assertThat(running.state()).isEqualTo(SERVICE_RUNNING);
        assertThat(running.controlsAccepted()).isEqualTo(SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN);
        assertThat(running.checkPoint()).isZero();
        assertThat(running.waitHintMillis()).isZero();

        assertThat(m.control(SERVICE_CONTROL_INTERROGATE)).isEqualTo(NO_ERROR);
        assertThat(reported.get(reported.size() - 1)).isEqualTo(running); // re-reported as is
        assertThat(m.control(SERVICE_CONTROL_STOP)).isEqualTo(NO_ERROR);
        assertThat(m.control(SERVICE_CONTROL_SHUTDOWN)).isEqualTo(NO_ERROR);
        assertThat(stops).hasValue(1); // one stop, however many controls

        m.stopping("flushing");
        m.stopping("closing logs");
        assertThat(m.current().state()).isEqualTo(SERVICE_STOP_PENDING);
        assertThat(m.current().checkPoint()).isEqualTo(2);
        assertThat(m.current().waitHintMillis()).isEqualTo((int) STOP_WAIT_HINT.toMillis());
        assertThat(m.current().controlsAccepted()).isZero();
        m.stopped(0);
        assertThat(m.current()).isEqualTo(new Status(SERVICE_STOPPED, 0, NO_ERROR, 0, 0, 0));
        assertThatThrownBy(() -> m.stopped(0)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void failedStartReportsAServiceSpecificExitCode() {
        m.begin();
        m.starting("recovering ingest log of disk a");
        m.stopped(WindowsServiceHost.EXIT_START_FAILED);
        assertThat(m.current()).isEqualTo(new Status(SERVICE_STOPPED, 0, ERROR_SERVICE_SPECIFIC_ERROR,
                WindowsServiceHost.EXIT_START_FAILED, 0, 0));
        assertThat(m.control(SERVICE_CONTROL_STOP)).isEqualTo(NO_ERROR);
        assertThat(stops).hasValue(0); // nothing left to stop
    }

    @Test
    void illegalTransitionsAndUnknownControls() {
        assertThatThrownBy(() -> m.ready("x")).isInstanceOf(IllegalStateException.class);
        m.begin();
        assertThatThrownBy(m::begin).isInstanceOf(IllegalStateException.class);
        assertThat(m.control(2 /* PAUSE */)).isEqualTo(ERROR_CALL_NOT_IMPLEMENTED);
        m.ready("r");
        assertThatThrownBy(() -> m.ready("again")).isInstanceOf(IllegalStateException.class);
        m.starting("late line"); // ignored once running
        assertThat(m.current().state()).isEqualTo(SERVICE_RUNNING);
    }

    @Test
    void drivenByTheRealDaemonLifecycleOrder() {
        // AgentDaemon calls: starting(...)* → ready → stopping → (host) stopped(0)
        ServiceLifecycle lifecycle = m;
        lifecycle.starting("first line begins the pending state");
        lifecycle.ready("ready");
        lifecycle.watchdog(); // no-op on Windows
        lifecycle.stopping("stopping");
        m.stopped(0);
        assertThat(reported).extracting(Status::state).containsExactly(SERVICE_START_PENDING, SERVICE_RUNNING,
                SERVICE_STOP_PENDING, SERVICE_STOPPED);
    }
}
