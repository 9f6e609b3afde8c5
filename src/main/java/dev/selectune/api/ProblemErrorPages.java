package dev.selectune.api;

import org.apache.catalina.Host;
import org.apache.catalina.Valve;
import org.apache.catalina.core.StandardHost;
import org.apache.catalina.valves.ErrorReportValve;
import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.core.Ordered;
import org.springframework.stereotype.Component;

/**
 * Puts {@link ProblemErrorReportValve} in place of every {@link ErrorReportValve} of Tomcat's host (its default one
 * and the one Spring Boot adds), so that no error leaves the server as an HTML page. Runs after Spring Boot's own
 * customizer, which adds its valve in a context customizer too.
 */
@Component
public class ProblemErrorPages implements WebServerFactoryCustomizer<TomcatServletWebServerFactory>, Ordered {

    @Override
    public void customize(TomcatServletWebServerFactory factory) {
        factory.addContextCustomizers(context -> {
            Host host = (Host) context.getParent();
            for (Valve v : host.getPipeline().getValves()) {
                if (v instanceof ErrorReportValve && !(v instanceof ProblemErrorReportValve)) {
                    host.getPipeline().removeValve(v);
                }
            }
            if (host instanceof StandardHost standard) {
                standard.setErrorReportValveClass(ProblemErrorReportValve.class.getName());
            }
            host.getPipeline().addValve(new ProblemErrorReportValve());
        });
    }

    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE;
    }
}
