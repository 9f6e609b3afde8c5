package dev.selectune.evaluation;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DreamBoothPromptsTest {

    @Test
    void liveSubjectsTakeTheLiveListAndObjectsTheObjectList() {
        List<String> dog = DreamBoothPrompts.prompts("sks", "dog");
        assertEquals(25, dog.size());
        assertEquals("a sks dog in the jungle", dog.get(0));
        assertTrue(dog.contains("a sks dog wearing a santa hat"), dog.toString());
        assertEquals("a cube shaped sks dog", dog.get(24));

        List<String> teapot = DreamBoothPrompts.prompts("zwx", "teapot");
        assertEquals(25, teapot.size());
        assertTrue(teapot.contains("a zwx teapot on top of a mirror"), teapot.toString());
        assertFalse(teapot.stream().anyMatch(p -> p.contains("hat")), teapot.toString());
    }

    @Test
    void theClipTTextDropsTheIdentifierWord() {
        assertEquals("a dog in the snow", DreamBoothMetrics.clipTText("a sks dog in the snow", "sks"));
        assertEquals("a sksdog", DreamBoothMetrics.clipTText("a sksdog", "sks"));
        assertEquals("a sks dog", DreamBoothMetrics.clipTText("a sks dog", null));
    }

    @Test
    void promptsNeedAnIdentifierAndAClassNoun() {
        assertThrows(IllegalArgumentException.class, () -> DreamBoothPrompts.prompts("sks", " "));
    }
}
