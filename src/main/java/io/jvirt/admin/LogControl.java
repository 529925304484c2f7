package io.jvirt.admin;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.FileAppender;
import ch.qos.logback.core.OutputStreamAppender;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The daemon's logging at run time (virt-admin's daemon-log-filters and daemon-log-outputs): the level of the
 * root logger or of any named logger, and where the log goes. An output is {@code stderr} or
 * {@code file:/absolute/path} (appended to); the outputs replace each other as a whole. Logback's own objects are
 * changed in place, so the next log line already follows.
 */
public final class LogControl {
    /** What {@link io.jvirt.api.LogSetup} writes: the same pattern for every output. */
    static final String PATTERN = "%d{HH:mm:ss.SSS} %-5level [%thread] %logger{20} - %msg%n";
    private static final List<String> LEVELS = List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF");

    private final LoggerContext context;

    public LogControl() {
        this.context = (LoggerContext) org.slf4j.LoggerFactory.getILoggerFactory();
    }

    /** Loggers with a level of their own ({@code root} first), as {@code name → LEVEL}. */
    public synchronized Map<String, String> levels() {
        Map<String, String> m = new LinkedHashMap<>();
        for (Logger l : context.getLoggerList()) {
            if (l.getLevel() != null) {
                m.put(l.getName().equals(Logger.ROOT_LOGGER_NAME) ? "root" : l.getName(), l.getLevel().toString());
            }
        }
        return m;
    }

    /**
     * Sets a logger's level ({@code logger} null or {@code root}: the root logger); {@code level} {@code inherit}
     * (or {@code default}) removes a named logger's own level. A bad level or logger name is refused.
     */
    public synchronized void setLevel(String logger, String level) {
        String name = logger == null || logger.isBlank() || logger.equals("root") ? Logger.ROOT_LOGGER_NAME : logger;
        if (!name.equals(Logger.ROOT_LOGGER_NAME) && !name.matches("[A-Za-z_$][A-Za-z0-9_$]*(\\.[A-Za-z_$][A-Za-z0-9_$]*)*")) {
            throw new IllegalArgumentException("not a logger name: " + logger);
        }
        String up = level == null ? "" : level.strip().toUpperCase(Locale.ROOT);
        Logger l = context.getLogger(name);
        if (up.equals("INHERIT") || up.equals("DEFAULT")) {
            if (name.equals(Logger.ROOT_LOGGER_NAME)) {
                throw new IllegalArgumentException("the root logger has no level to inherit");
            }
            l.setLevel(null);
            return;
        }
        if (up.equals("WARNING")) {
            up = "WARN";
        }
        if (!LEVELS.contains(up)) {
            throw new IllegalArgumentException("level must be one of " + LEVELS + " (or inherit), got " + level);
        }
        l.setLevel(Level.toLevel(up));
    }

    /** The root logger's outputs, as {@code stderr} / {@code file:PATH}. */
    public synchronized List<String> outputs() {
        List<String> out = new ArrayList<>();
        for (Iterator<Appender<ILoggingEvent>> it = root().iteratorForAppenders(); it.hasNext(); ) {
            Appender<ILoggingEvent> a = it.next();
            if (a instanceof FileAppender<ILoggingEvent> f) {
                out.add("file:" + f.getFile());
            } else if (a instanceof ConsoleAppender<ILoggingEvent>) {
                out.add("stderr");
            } else {
                out.add(a.getName());
            }
        }
        return out;
    }

    /** Replaces the outputs: each checked first (nothing changes if one is bad), then swapped in. */
    public synchronized void setOutputs(List<String> outputs) {
        if (outputs == null || outputs.isEmpty()) {
            throw new IllegalArgumentException("give at least one output: stderr or file:/absolute/path");
        }
        List<OutputStreamAppender<ILoggingEvent>> made = new ArrayList<>();
        for (String o : outputs) {
            made.add(appender(o));
        }
        Logger root = root();
        List<Appender<ILoggingEvent>> old = new ArrayList<>();
        root.iteratorForAppenders().forEachRemaining(old::add);
        for (OutputStreamAppender<ILoggingEvent> a : made) {
            a.start();
            if (!a.isStarted()) {
                made.forEach(OutputStreamAppender::stop);
                throw new IllegalArgumentException("cannot open log output " + a.getName());
            }
        }
        made.forEach(root::addAppender);
        for (Appender<ILoggingEvent> a : old) {
            root.detachAppender(a);
            a.stop();
        }
    }

    private OutputStreamAppender<ILoggingEvent> appender(String spec) {
        String s = spec == null ? "" : spec.strip();
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern(PATTERN);
        encoder.start();
        if (s.equals("stderr")) {
            ConsoleAppender<ILoggingEvent> a = new ConsoleAppender<>();
            a.setContext(context);
            a.setName("STDERR");
            a.setTarget("System.err");
            a.setEncoder(encoder);
            return a;
        }
        if (s.startsWith("file:")) {
            Path p = Path.of(s.substring(5));
            if (!p.isAbsolute() || p.getFileName() == null) {
                throw new IllegalArgumentException("a file output needs an absolute path: " + spec);
            }
            FileAppender<ILoggingEvent> a = new FileAppender<>();
            a.setContext(context);
            a.setName("FILE:" + p);
            a.setFile(p.toString());
            a.setAppend(true);
            a.setEncoder(encoder);
            return a;
        }
        throw new IllegalArgumentException("an output is stderr or file:/absolute/path, got " + spec);
    }

    private Logger root() {
        return context.getLogger(Logger.ROOT_LOGGER_NAME);
    }
}
