package io.jvirt.qmp;

/**
 * Receives asynchronous QMP events. Called on the client's single event thread, in the order QEMU sent
 * the events; a slow listener delays later events but never the processing of command answers, so it
 * may call {@link QmpClient#execute} itself.
 */
@FunctionalInterface
public interface QmpEventListener {

    void onEvent(QmpEvent event);
}
