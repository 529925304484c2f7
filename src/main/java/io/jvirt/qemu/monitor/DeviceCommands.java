package io.jvirt.qemu.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jvirt.qmp.QmpArgs;
import io.jvirt.qmp.QmpJson;
import java.util.List;
import java.util.Map;

/**
 * Devices and objects of a running QEMU (get it from {@link Monitor#device()}): device_add/device_del,
 * object-add/object-del, netdev_add/netdev_del, qom-get/qom-set on a device or object, and the reads hotplug needs
 * (query-hotpluggable-cpus, query-memory-devices, query-memory-size-summary). Replies are {@link DeviceReplies}.
 * A device_del only asks: the device is gone when {@link MonitorEvent#DEVICE_DELETED} says so.
 */
public final class DeviceCommands {
    private final Monitor monitor;

    DeviceCommands(Monitor monitor) {
        this.monitor = monitor;
    }

    /** Adds device {@code id} of type {@code driver} with its properties (values as QEMU's JSON types). */
    public void deviceAdd(String driver, String id, Map<String, ?> properties) {
        monitor.call("device_add", with(QmpArgs.of("driver", driver, "id", id), properties));
    }

    /** Asks the guest to release device {@code id}; returns at once (completion is DEVICE_DELETED). */
    public void deviceDel(String id) {
        monitor.call("device_del", QmpArgs.of("id", id));
    }

    /** Adds a QOM object ({@code memory-backend-ram}, {@code iothread}...) with its properties. */
    public void objectAdd(String qomType, String id, Map<String, ?> properties) {
        monitor.call("object-add", with(QmpArgs.of("qom-type", qomType, "id", id), properties));
    }

    /** {@code args} with the properties that have a value (an absent one takes QEMU's default). */
    private static ObjectNode with(ObjectNode args, Map<String, ?> properties) {
        properties.forEach((k, v) -> {
            if (v != null) {
                args.set(k, QmpJson.mapper().valueToTree(v));
            }
        });
        return args;
    }

    public void objectDel(String id) {
        monitor.call("object-del", QmpArgs.of("id", id));
    }

    /** A tap backend on the existing tap {@code ifname} (made by the manager; no scripts run). */
    public void netdevAddTap(String id, String ifname, boolean vhost) {
        monitor.call("netdev_add", QmpArgs.of("type", "tap", "id", id, "ifname", ifname, "script", "no",
                "downscript", "no", "vhost", vhost ? true : null));
    }

    /** A user-mode backend with QEMU's hostfwd rules ({@code tcp:127.0.0.1:8080-:80}). */
    public void netdevAddUser(String id, List<String> hostForwards) {
        monitor.call("netdev_add", QmpArgs.of("type", "user", "id", id,
                "hostfwd", hostForwards.isEmpty() ? null : hostForwards.stream().map(f -> Map.of("str", f)).toList()));
    }

    public void netdevDel(String id) {
        monitor.call("netdev_del", QmpArgs.of("id", id));
    }

    /** Sets a property of the device {@code deviceId} (under /machine/peripheral). */
    public void setDeviceProperty(String deviceId, String property, Object value) {
        monitor.call("qom-set", QmpArgs.of("path", peripheral(deviceId), "property", property, "value", value));
    }

    public JsonNode deviceProperty(String deviceId, String property) {
        return monitor.call("qom-get", QmpArgs.of("path", peripheral(deviceId), "property", property));
    }

    /** Sets a property of the object {@code objectId} (under /objects), e.g. an IOThread's poll-max-ns. */
    public void setObjectProperty(String objectId, String property, Object value) {
        monitor.call("qom-set", QmpArgs.of("path", "/objects/" + objectId, "property", property, "value", value));
    }

    /** Every vCPU slot; plugged ones carry a {@code qomPath}. */
    public List<DeviceReplies.HotpluggableCpu> queryHotpluggableCpus() {
        return monitor.callForList("query-hotpluggable-cpus", null, DeviceReplies.HotpluggableCpu.class);
    }

    /** Plugged memory devices (DIMMs, virtio-mem), flattened to one record each. */
    public List<DeviceReplies.MemoryDevice> queryMemoryDevices() {
        JsonNode reply = monitor.call("query-memory-devices", null);
        List<DeviceReplies.MemoryDevice> out = new java.util.ArrayList<>();
        for (JsonNode d : reply) {
            DeviceReplies.MemoryDevice m = Monitor.read(d.path("data"), DeviceReplies.MemoryDevice.class);
            out.add(m.withType(d.path("type").asText()));
        }
        return out;
    }

    /** Boot memory and what plugged devices add to it, in bytes. */
    public DeviceReplies.MemorySizeSummary queryMemorySizeSummary() {
        return monitor.call("query-memory-size-summary", null, DeviceReplies.MemorySizeSummary.class);
    }

    private static String peripheral(String deviceId) {
        return "/machine/peripheral/" + deviceId;
    }
}
