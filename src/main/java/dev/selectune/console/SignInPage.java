package dev.selectune.console;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;

/** Sign-in with an API key (kept in the server-side session) and sign-out; with authentication off, neither. */
@Controller
public class SignInPage {
    private final ConsoleSession session;

    public SignInPage(ConsoleSession session) {
        this.session = session;
    }

    @GetMapping("/sign-in")
    public String form(HttpServletRequest request) {
        return session.tenant(request).isPresent() ? "redirect:/jobs" : "console/sign-in";
    }

    @PostMapping("/sign-in")
    public String signIn(@RequestParam(name = "api_key", defaultValue = "") String key, HttpServletRequest request,
                         HttpServletResponse response, Model model) {
        if (!session.authEnabled() || session.signIn(request, key)) {
            return "redirect:/jobs";
        }
        response.setStatus(HttpStatus.UNAUTHORIZED.value());
        model.addAttribute("error", key.isBlank() ? "Enter an API key." : "This API key is unknown or revoked.");
        model.addAttribute("csrf", session.csrfToken(request));
        return "console/sign-in";
    }

    @PostMapping("/sign-out")
    public String signOut(HttpServletRequest request) {
        session.signOut(request);
        return "redirect:/sign-in";
    }
}
