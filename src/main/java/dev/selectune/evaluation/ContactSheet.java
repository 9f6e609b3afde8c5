package dev.selectune.evaluation;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.util.List;

/**
 * One picture of an evaluation: a row per prompt (in the order of evaluation.json's {@code per_prompt}), the images
 * generated with the LoRA on the left and those of the bare base model, from the same seeds, on the right, separated
 * by a wider gap. No text is drawn (a headless server may have no fonts); the JSON names the rows.
 */
public final class ContactSheet {
    static final int GAP = 2;
    static final int BLOCK_GAP = 12;

    private ContactSheet() {
    }

    /**
     * @param left  prompt-major images, {@code perRow} per prompt (the LoRA row)
     * @param right the same layout (the base model row)
     */
    public static BufferedImage render(List<BufferedImage> left, List<BufferedImage> right, int perRow) {
        if (left.isEmpty() || left.size() != right.size() || left.size() % perRow != 0) {
            throw new IllegalArgumentException("contact sheet needs two equal, non-empty sets of whole rows of " + perRow
                    + " images; got " + left.size() + " and " + right.size());
        }
        int cell = left.get(0).getWidth();
        int cellH = left.get(0).getHeight();
        int rows = left.size() / perRow;
        int blockW = perRow * cell + (perRow - 1) * GAP;
        int width = 2 * blockW + BLOCK_GAP + 2 * GAP;
        int height = rows * cellH + (rows + 1) * GAP;
        BufferedImage sheet = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = sheet.createGraphics();
        try {
            g.setColor(new Color(0x30, 0x30, 0x30));
            g.fillRect(0, 0, width, height);
            for (int r = 0; r < rows; r++) {
                int y = GAP + r * (cellH + GAP);
                for (int c = 0; c < perRow; c++) {
                    int x = GAP + c * (cell + GAP);
                    g.drawImage(left.get(r * perRow + c), x, y, cell, cellH, null);
                    g.drawImage(right.get(r * perRow + c), x + blockW + BLOCK_GAP, y, cell, cellH, null);
                }
            }
        } finally {
            g.dispose();
        }
        return sheet;
    }
}
