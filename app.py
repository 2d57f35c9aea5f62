"""genmods — a hands-on studio for classic generative deep learning (the Hugging Face Space).

Layout and wiring only: every button calls a function of `genmods.studio`, reachable from Python
through `gradio_client` under the `api_name` given here.

    python app.py        # honours GRADIO_SERVER_NAME / GRADIO_SERVER_PORT
"""

from genmods.zerogpu import gpu  # first: `spaces` must be imported before anything touches CUDA

import gradio as gr

from genmods import studio
from genmods.studio.components import (
    Dropdown, FileInput, MaskEditor, Number, Radio, Slider, image_input, image_output, needed, problems,
    refusing_unread, validator,
)
from genmods.defaults import DEFAULTS
from genmods.dream import PRESET_NAMES
from genmods.examples import PAINTED_STYLES, PAINTINGS, PHOTOS, example_files
from genmods.text.sampling import SEED_TEXT, temperature_label
from genmods.vision.backbones import SUPPORTED_BACKBONES


examples = example_files()
# the paintings first (genmods/paintings/PROVENANCE.md), then the textures we draw and a photo as a style
STYLE_EXAMPLES = [("chelsea", "starry_night"), ("coffee", "great_wave"), ("rocket", "the_scream"),
                  ("astronaut", "woman_with_a_hat"), ("chelsea", "shipwreck_of_the_minotaur"), ("coffee", "udnie"),
                  ("astronaut", "swirls"), ("chelsea", "mosaic"), ("coffee", "brushstrokes"),
                  ("rocket", "hubble_deep_field")]
IMAGE_JOBS = dict(concurrency_id="images", concurrency_limit=1)  # one GPU: image jobs take turns
# a small result fills its box (scaled, aspect kept) instead of sitting at its natural size in a corner of it
CSS = ("#style-result img, #dream-result img, #clip-frame img {width: 100%; height: 100%; object-fit: contain;}"
       # a text coloured character by character reads as text: no gaps between the characters, and its line breaks
       # kept — the tokens flow inline (Gradio lays them out as flex items, where a newline cannot start a new line)
       "#surprisal-view .token, #cell-view .token, #surprisal-view .token-container, #cell-view .token-container "
       "{padding: 0 !important; margin: 0 !important; border-radius: 0 !important;}"
       # (font size 0 but for the characters themselves: the markup's whitespace around and inside the inline tokens
       # would otherwise show as gaps)
       "#surprisal-view .textfield, #cell-view .textfield {display: block !important;}"
       "#surprisal-view .textfield *, #cell-view .textfield * {display: inline !important; font-size: 0 !important;}"
       # the token's colour painted by the character itself (the token around it is now of size 0)
       "#surprisal-view .textfield .text, #cell-view .textfield .text {font-size: var(--text-md) !important;"
       " background-color: inherit !important;}"
       "#surprisal-view .text, #cell-view .text {white-space: pre-wrap;}"
       ".genmods-adjusted {font-size: var(--text-sm); color: var(--color-accent); margin-top: var(--spacing-sm);}")
# A slider's number box silently replaces what was typed by the nearest allowed value when it loses focus ('abc' → 20,
# 99999 → 2000): say so under the slider, until the box is edited again. (A page-side note: the server only ever sees
# the replaced value; API callers who send one out of range get an error naming the control, `components.Slider`.)
JS = """() => {
  const PREFIX = 'number input for ';
  const say = (block, text) => {
    let line = block.querySelector(':scope > .genmods-adjusted');
    if (!text) { line?.remove(); return; }
    if (!line) {
      line = document.createElement('div');
      line.className = 'genmods-adjusted';
      line.setAttribute('role', 'status');
      block.append(line);
    }
    line.textContent = text;
  };
  document.addEventListener('input', (event) => {
    const block = event.target.closest?.('.block');
    if (block) say(block, '');
  }, true);
  document.addEventListener('blur', (event) => {
    const box = event.target, label = box.getAttribute?.('aria-label') || '';
    if (box.type !== 'number' || !label.startsWith(PREFIX)) return;
    const typed = box.value, block = box.closest('.block');
    setTimeout(() => {  // after the slider has put its own value in the box
      const used = box.value;
      if (typed === used || used === '' || Number(typed) === Number(used)) return;
      const why = typed === '' ? 'what was typed is not a number'
        : Number(typed) > Number(box.max) ? `${typed} is above the largest value, ${box.max}`
        : Number(typed) < Number(box.min) ? `${typed} is below the smallest value, ${box.min}`
        : `${typed} is between the slider's steps`;
      say(block, `${label.slice(PREFIX.length)}: ${used} is used (${why}).`);
    }, 100);
  }, true);
}"""


def seed_input() -> Number:
    # (its range is checked by the jobs' validators, which mark the box: `studio.seed_problem`)
    return Number(studio.RANDOM_SEED, label="Random seed", precision=0,
                  info="−1: a new seed every run (the seed used is shown with the result)")


def wire_stop(button, tab):
    """Stop ends the visitor's job on this tab at its next step; it runs at once, outside the queue."""
    button.click(studio.stop_button(tab), None, None, api_visibility="private", queue=False)


def progress_line(elem_id: str) -> gr.Markdown:
    """Where a job's progress bar (step, time left, queue position) is drawn: a line of its own above the info panel,
    so the bar never covers the info's text. It holds no text; its height keeps it (and the bar) on the page."""
    return gr.Markdown("", min_height=28, elem_id=elem_id)


def on_run(button, info, starting: str = "Starting…", inputs=(), checks=None):
    """A run button first puts `starting` in the tab's info panel, at once and outside the queue — something on the
    page within a moment of the click, and never an old result's text above a new error; the job (`.then(...)`,
    with its api_name) follows. (The job itself cannot say it first: a first update that skips the result image
    leaves that image out of "Share via Link".) trigger_mode="always_last": a click while the last
    run is still ending (Stop, then Paint at once) runs after it; Gradio's default ("once") drops that
    click, which left the page waiting for a run that never started. With `checks` of the job's `inputs` (see
    `run_job`), what the job will be refused for is said there instead, beside the mark on the input itself (an
    image input's mark sits at its top edge, easily missed next to an empty picture)."""
    inputs = list(inputs) if checks else []

    def first_line(*values):
        refused = [f"{REFUSED} {problem}" for problem in problems(inputs, checks, values) if problem]
        return "\n\n".join(refused) or starting
    return button.click(first_line, inputs, info, api_visibility="private", queue=False, trigger_mode="always_last")


REFUSED = "⚠️"  # how the info panel's line about a job that did not run begins


def run_job(button, info, starting: str, fn, checks=None, **event):
    """An image job's button: `starting` at once (`on_run`), then the job; if the job fails (a bad input, an error),
    the info panel says so instead of keeping the starting line, and the error's own message is in the toast.
    `checks` (input → check, see `validator`) are made before the job is queued, and marked on their inputs."""
    if checks:
        event["validator"] = validator(event["inputs"], checks)
    job = on_run(button, info, starting, event["inputs"], checks).then(refusing_unread(fn), **event)
    job.failure(lambda: f"{REFUSED} Nothing was made: the message in the corner says why.", None, info,
                api_visibility="private", queue=False)
    return job


with gr.Blocks(title="genmods — generative deep learning studio") as demo:
    gr.Markdown(
        "# genmods\nThree classic techniques from the lecture *Generative Deep Learning*: a character-level LSTM "
        "that writes like Nietzsche, DeepDream, and neural style transfer."
    )

    with gr.Tabs() as tabs:
        with gr.Tab("Text", id="text") as text_tab:
            gr.Markdown(
                "A character-level LSTM trained on Nietzsche predicts the next character; we sample it, append it, "
                "repeat. The **temperature** reweights the distribution p → p^(1/T)/Σ: low T is repetitive but "
                "locally realistic, high T is creative but breaks words; ~0.5 is usually best."
            )
            with gr.Row():
                prompt = gr.Textbox(SEED_TEXT, label="Conditioning text", lines=2, max_length=2000, scale=3)
                with gr.Column(scale=2):
                    stage = Radio(["converged", "early"], value="converged", label="Model",
                                     info="converged: 2×768 LSTM, the epoch with the best held-out loss (34); early: the 2×512 model after two epochs")
                    with gr.Row():
                        length = Slider(20, studio.MAX_TEXT_LENGTH, value=400, step=10, label="Characters to generate")
                        text_seed = seed_input()
                    greedy = gr.Checkbox(False, label="Greedy (always the most likely character)")
            with gr.Row():
                t_low = Slider(0.05, studio.MAX_TEMPERATURE, value=0.2, step=0.05, label="Temperature 1")
                t_mid = Slider(0.05, studio.MAX_TEMPERATURE, value=0.5, step=0.05, label="Temperature 2")
                t_high = Slider(0.05, studio.MAX_TEMPERATURE, value=1.0, step=0.05, label="Temperature 3")
            with gr.Row():
                generate_button = gr.Button("Generate", variant="primary")
                stop_text = gr.Button("Stop")
                gr.DeepLinkButton()
            with gr.Row(equal_height=True):
                out_low = gr.Textbox(label="T = 0.2", lines=12, buttons=["copy"], elem_id="text-out-low")
                out_mid = gr.Textbox(label="T = 0.5", lines=12, buttons=["copy"], elem_id="text-out-mid")
                out_high = gr.Textbox(label="T = 1.0", lines=12, buttons=["copy"], elem_id="text-out-high")
            text_info = gr.Markdown(elem_id="text-info")
            with gr.Group():
                next_char_position = Slider(1, 2, value=1, step=1, interactive=False, elem_id="next-char-position",
                                               label="Walk along the middle text: the distribution each character was "
                                                     "drawn from (opens where the model was first unsure)")
                next_char_line = gr.Markdown(elem_id="next-char-line")
                # the heading is the chart's own title, not the component's label: Gradio does not count a shown
                # label in the chart's height, which clipped the colour legend to its title
                next_char_plot = gr.BarPlot(x="bar", y="probability", color="temperature", y_lim=[0, 1], height=280,
                                            elem_id="next-char-plot", show_label=False,
                                            title="Next character, reweighted at each temperature",
                                            x_title="likeliest first (␣ space, ⏎ new line)")
            walk = gr.State()

            text_inputs = [prompt, stage, length, t_low, t_mid, t_high, text_seed, greedy]
            text_event = on_run(generate_button, text_info, "").then(
                gpu(studio.generate_text, duration=60), inputs=text_inputs,
                outputs=[out_low, out_mid, out_high, next_char_plot, text_info, walk],
                api_name="generate_text", concurrency_id="text", concurrency_limit=studio.TEXT_CONCURRENCY,
                validator=validator(text_inputs, {
                    prompt: lambda text, values: studio.prompt_problem(text, values[stage]),
                    text_seed: studio.seed_problem}),
            )
            text_event.then(studio.next_character_at, walk, [next_char_position, next_char_line, next_char_plot],
                            api_visibility="private", queue=False)
            next_char_position.input(studio.next_character_at, [walk, next_char_position],
                                       [next_char_position, next_char_line, next_char_plot], api_visibility="private",
                                       queue=False)
            wire_stop(stop_text, "text")

            with gr.Accordion("Inside the model: how surprised it is, and what single cells track", open=False,
                              elem_id="inside"):
                gr.Markdown("Paste any text. **Surprisal** colours each character by how unexpected it was to the model "
                            "given everything before it (−log₂ p, in bits). **One cell** colours the text by a single "
                            "LSTM unit: the tanh of its cell state after each character, as in Karpathy, Johnson and "
                            "Fei-Fei (2016), who found cells that switch on inside quotes or count along a line. "
                            "**Find cells** ranks the cells by how well they track a simple property of the text.")
                inside_text = gr.Textbox(studio.INSIDE_EXAMPLE, label="Text to look at", lines=4,
                                         max_length=studio.MAX_PROMPT_LENGTH, elem_id="inside-text")
                surprisal_button = gr.Button("Colour by surprisal", variant="primary")
                surprisal_view = gr.HighlightedText(label="Surprisal per character (red: surprising)",
                                                    show_legend=False, elem_id="surprisal-view")
                surprisal_info = gr.Markdown(elem_id="surprisal-info")
                with gr.Row():
                    cell_layer = Slider(1, 2, value=1, step=1, label="Layer")
                    cell_index = Slider(0, 767, value=0, step=1, label="Cell")
                    cell_button = gr.Button("Show this cell")
                with gr.Row():
                    cell_property = Dropdown(list(studio.text_tab.PROPERTY_NAMES), value="inside quotes",
                                                label="Property a cell may track")
                    find_button = gr.Button("Find cells")
                cell_table = gr.Dataframe(headers=["layer", "cell", "r"], datatype=["number", "number", "number"],
                                          interactive=False, label="Cells that track it best (click a row to show it)",
                                          elem_id="cell-table")
                cell_info = gr.Markdown(elem_id="cell-info")
                cell_view = gr.HighlightedText(label="Cell activation, tanh(c) (red +1, blue −1)", show_legend=False,
                                               elem_id="cell-view")

            # (validators with no checks of their own: a stage not among the choices is refused by its name)
            surprisal_button.click(studio.text_surprisal, [inside_text, stage], [surprisal_view, surprisal_info],
                                   api_name="surprisal", concurrency_id="text", concurrency_limit=studio.TEXT_CONCURRENCY,
                                   validator=validator([inside_text, stage], {}))
            cell_inputs = [inside_text, stage, cell_layer, cell_index]
            cell_button.click(studio.cell_view, cell_inputs, [cell_view, cell_info], api_name="cell_activations",
                              concurrency_id="text", concurrency_limit=studio.TEXT_CONCURRENCY,
                              validator=validator(cell_inputs, {}))
            find_button.click(studio.find_cells_view, [inside_text, stage, cell_property],
                              [cell_table, cell_layer, cell_index, cell_view, cell_info], api_name="find_cells",
                              concurrency_id="text", concurrency_limit=studio.TEXT_CONCURRENCY,
                              validator=validator([inside_text, stage, cell_property], {}))
            cell_table.select(studio.chosen_cell, [cell_table, inside_text, stage],
                              [cell_layer, cell_index, cell_view, cell_info], api_visibility="private")
            gr.on([demo.load, stage.change], studio.cell_sliders, stage, [cell_layer, cell_index],
                  api_visibility="private", queue=False)
            for slider, box in ((t_low, out_low), (t_mid, out_mid), (t_high, out_high)):
                slider.change(lambda t: gr.Textbox(label=temperature_label(t)), slider, box, api_visibility="private",
                              queue=False)

        with gr.Tab("DeepDream", id="dream") as dream_tab:
            gr.Markdown(
                "Gradient ascent on the image to maximise the activations of whole layers of a convnet, at successive "
                "octaves (each 1.4× larger), re-injecting the detail lost by each upscale. Lower layers give "
                "geometric patterns, higher layers object-like ones."
            )
            with gr.Row():
                with gr.Column():
                    dream_image = image_input("Image", elem_id="dream-image")
                    gr.Examples([[examples[name]] for name in PHOTOS], inputs=[dream_image], label="Examples")
                    with gr.Row():
                        # InceptionV3 where its trained weights can be had, else the trained VGG19: decided as the
                        # app starts (the API's default) and again at each page load (studio.backbone_choice)
                        backbone = Dropdown(list(SUPPORTED_BACKBONES), value=studio.dream_backbone()[0],
                                               label="Backbone", elem_id="dream-backbone")
                        preset = Radio([*PRESET_NAMES, "custom"], value="keras", label="Layers")
                    custom_layers = gr.Textbox("", label="Custom layers (LAYER=WEIGHT, …)",
                                               placeholder="Mixed_6b=1, Mixed_6c=1.5", visible=False,
                                               elem_id="dream-custom-layers")
                    with gr.Accordion("Settings", open=False):
                        with gr.Row():
                            octaves = Slider(1, studio.MAX_OCTAVES, value=DEFAULTS.dream_octaves, step=1, label="Octaves")
                            octave_scale = Slider(1.1, 2.0, value=1.4, step=0.05, label="Octave scale")
                        with gr.Row():
                            iterations = Slider(1, studio.MAX_DREAM_ITERATIONS, value=DEFAULTS.dream_iterations, step=1,
                                                   label="Iterations per octave")
                            step = Slider(0.001, 0.1, value=0.01, step=0.001, label="Step",
                                             info="mean change per pixel per step, in [-1, 1] units: 0.01 ≈ 1.3 grey levels")
                        with gr.Row():
                            jitter = Slider(0, 64, value=0, step=1, label="Jitter (px)")
                            tile_size = Slider(0, 1024, value=0, step=32, label="Tile size (0 = no tiling)")
                        with gr.Row():
                            dream_side = Slider(64, studio.MAX_IMAGE_SIDE, value=DEFAULTS.dream_side, step=32,
                                                   label="Image size (longer side; larger inputs are downscaled)")
                            dream_seed = seed_input()
                        layer_balance = Radio(["auto", "raw", "relative"], value="auto", label="Layer balance",
                                                 info="relative: each weight is that layer's share, whatever its "
                                                      "activation scale; raw: the Keras recipe's plain sum; auto: raw "
                                                      "for the Keras recipe, relative otherwise")
                        dream_gradient = Radio(["smoothed", "raw"], value="smoothed", label="Gradient",
                                                  info="smoothed: every scale of the gradient equalised, colours "
                                                       "decorrelated, pixels slowed near black and white (no rainbow "
                                                       "noise); raw: the Keras recipe's, exactly")
                        guide_image = image_input("Guide image (optional): dream towards its features")
                    with gr.Accordion("Zoom animation", open=False):
                        with gr.Row():
                            zoom_frames = Slider(2, studio.MAX_ZOOM_FRAMES, value=DEFAULTS.zoom_frames, step=1, label="Frames")
                            zoom_factor = Slider(1.01, 1.3, value=1.05, step=0.01, label="Zoom per frame")
                        with gr.Row():
                            zoom_octaves = Slider(1, studio.MAX_OCTAVES, value=DEFAULTS.zoom_octaves, step=1,
                                                     label="Zoom: octaves per frame")
                            zoom_iterations = Slider(1, studio.MAX_DREAM_ITERATIONS, value=DEFAULTS.zoom_iterations,
                                                        step=1, label="Zoom: iterations per octave")
                            zoom_side = Slider(64, studio.MAX_IMAGE_SIDE, value=DEFAULTS.zoom_side, step=32,
                                                  label="Frame size (longer side)")
                        zoom_estimate = gr.Markdown(elem_id="zoom-estimate")
                with gr.Column():
                    dream_output = image_output("Dream", elem_id="dream-result")
                    dream_progress = progress_line("dream-progress")
                    dream_info = gr.Markdown(elem_id="dream-info")
                    with gr.Row():
                        dream_button = gr.Button("Dream", variant="primary")
                        compare_button = gr.Button("Compare layers")
                        zoom_button = gr.Button("Zoom animation")
                        stop_dream = gr.Button("Stop")
                        gr.DeepLinkButton()
                    dream_estimate = gr.Markdown(elem_id="dream-estimate")
                    compare_gallery = gr.Gallery(label="Low · mid · high layers (the layers are listed above)", columns=3,
                                                 height=300, format="png", elem_id="dream-compare")
                    zoom_output = gr.Image(label="Dream zoom (GIF)", type="filepath", interactive=False, height=300,
                                           elem_id="dream-zoom")

            dream_checks = {dream_image: needed(studio.NO_IMAGE), dream_seed: studio.seed_problem,
                            custom_layers: lambda text, values: studio.layers_problem(text, values[backbone],
                                                                                     values[preset])}
            run_job(dream_button, dream_info, "Loading the network…",
                gpu(studio.dream, duration=300),
                inputs=[dream_image, backbone, preset, custom_layers, octaves, octave_scale, iterations, step, jitter,
                        tile_size, guide_image, dream_seed, dream_side, layer_balance, dream_gradient],
                outputs=[dream_output, dream_info], api_name="deep_dream", show_progress_on=dream_progress,
                checks=dream_checks, **IMAGE_JOBS,
            )
            run_job(compare_button, dream_info, "Loading the networks…",
                gpu(studio.compare_layers, duration=300),
                inputs=[dream_image, backbone, octaves, octave_scale, iterations, step, jitter, dream_seed, dream_side,
                        dream_gradient],
                outputs=[compare_gallery, dream_info], api_name="compare_layers", show_progress_on=dream_progress,
                checks=dream_checks,
                **IMAGE_JOBS,
            )
            run_job(zoom_button, dream_info, "Dreaming the first frame…",
                gpu(studio.zoom_animation, duration=300),
                inputs=[dream_image, backbone, preset, custom_layers, zoom_frames, zoom_factor, zoom_octaves,
                        zoom_iterations, step, dream_seed, zoom_side, dream_gradient],
                outputs=[zoom_output, dream_info], api_name="dream_zoom", show_progress_on=dream_progress,
                checks=dream_checks, **IMAGE_JOBS,
            )
            wire_stop(stop_dream, "dream")
            demo.load(studio.backbone_choice, None, backbone, api_visibility="private", queue=False)
            # the custom layers box only when "custom" is chosen, with the chosen backbone's layer names as its hint
            gr.on([preset.change, backbone.change], studio.custom_layers_box, [preset, backbone], custom_layers,
                  api_visibility="private", queue=False)
            gr.on([demo.load, dream_image.change, backbone.change, octaves.change, octave_scale.change, iterations.change,
                   dream_side.change, preset.change], studio.estimate_dream,
                  inputs=[dream_image, backbone, octaves, octave_scale, iterations, dream_side, preset],
                  outputs=dream_estimate, api_name="estimate_dream", concurrency_limit=None, show_progress="hidden", trigger_mode="always_last",
                  preprocess=False)
            gr.on([demo.load, dream_image.change, backbone.change, preset.change, zoom_frames.change, zoom_octaves.change,
                   zoom_iterations.change, zoom_side.change], studio.estimate_zoom,
                  inputs=[dream_image, backbone, preset, zoom_frames, zoom_octaves, zoom_iterations, zoom_side],
                  outputs=zoom_estimate, api_name="estimate_zoom", concurrency_limit=None, show_progress="hidden", trigger_mode="always_last",
                  preprocess=False)

        with gr.Tab("Style transfer", id="style") as style_tab:
            gr.Markdown(
                "Gatys et al.: keep the content image's macrostructure (an upper VGG19 layer's activations) and the "
                "style image's textures (Gram matrices of several layers), minimising α·content + β·style loss "
                "(both relative errors, so β/α means the same on any network)."
            )
            with gr.Row():
                with gr.Column():
                    with gr.Row():
                        content_image = image_input("Content image", elem_id="style-content")
                        style_image = image_input("Style image", elem_id="style-style")
                    gr.Examples([[examples[c], examples[s]] for c, s in STYLE_EXAMPLES],
                                inputs=[content_image, style_image], label="Examples", examples_per_page=6)
                    with gr.Accordion("Second style (blend)", open=False):
                        second_style = image_input("Second style image (optional)")
                        gr.Examples([[examples[name]] for name in (*PAINTINGS, *PAINTED_STYLES, "hubble_deep_field")],
                                    inputs=[second_style], label="Styles")
                        second_weight = Slider(0, 1, value=0.5, step=0.05, label="Weight of the second style")
                    with gr.Accordion("Style by region: brush where the style goes", open=False):
                        mask_editor = MaskEditor(
                            label="Brush over the content image: the brushed region gets the style image",
                            type="pil", sources=[], transforms=[], image_mode="RGBA", elem_id="style-mask",
                            brush=gr.Brush(colors=["#ff2d2d"], color_mode="fixed"), eraser=gr.Eraser(),
                            layers=gr.LayerOptions(allow_additional_layers=False), height=360)
                        outside = Radio(list(studio.OUTSIDE_CHOICES), value="keep the content",
                                           label="Outside the painted region",
                                           info="the content untouched, or the second style image (above) painting it")
                    style_strength = Slider(*studio.STYLE_STRENGTH_RANGE, value=studio.DEFAULT_STYLE_STRENGTH, step=0.1,
                                               label="Style strength",
                                               info="log₁₀ β/α: 0 = style and content weigh the same, 1 = style 10× "
                                                    "(default), 3 = 1000×; −1 keeps the photo nearly untouched")
                    with gr.Row():
                        style_iterations = Slider(1, studio.MAX_STYLE_ITERATIONS, value=DEFAULTS.style_iterations, step=1,
                                                     label="Iterations", info="at the coarsest scale; halved at each finer one")
                        output_size = Slider(64, DEFAULTS.style_max_size, value=DEFAULTS.style_size, step=32,
                                                label="Output size (px)",
                                                info=f"above {DEFAULTS.style_tile} px the finest scales are painted in "
                                                     "overlapping tiles (see the estimate)")
                    color = Radio([("the style's", "style"), ("keep the photo's (luminance only)", "luminance"),
                                      ("the style's palette first (histogram)", "histogram"),
                                      ("colours only, no painting", "colors-only")], value="style", label="Colour",
                                     elem_id="style-colour",
                                     info="histogram: the photo takes the style's colours, then is painted; colours "
                                          "only: that recolouring alone, instant")
                    with gr.Accordion("Settings", open=False):
                        tv_weight = Slider(0, studio.MAX_TV_WEIGHT, value=studio.DEFAULT_TV_WEIGHT, step=0.5,
                                              label="Smoothness (TV weight)", info="1: light; 10: visibly smoother; 100: flat")
                        with gr.Row():
                            optimizer = Radio(["lbfgs", "adam"], value="lbfgs", label="Optimiser")
                            init = Radio(["content", "noise", "style"], value="content", label="Start from")
                            pooling = Radio(["max", "avg"], value="max", label="Pooling")
                        with gr.Row():
                            multi_scale = Slider(1, 3, value=DEFAULTS.style_scales, step=1, label="Scales (coarse → fine)",
                                                    info="each twice the previous; most iterations where they are cheap")
                            style_scale = Slider(0.25, 2.0, value=1.0, step=0.05, label="Style scale")
                            style_seed = seed_input()
                with gr.Column():
                    style_output = image_output("Result", elem_id="style-result")
                    style_progress = progress_line("style-progress")
                    style_info = gr.Markdown(elem_id="style-info")
                    with gr.Row():
                        style_button = gr.Button("Paint", variant="primary")
                        continue_button = gr.Button("Continue")
                        stop_style = gr.Button("Stop")
                        gr.DeepLinkButton()
                    style_estimate = gr.Markdown(elem_id="style-estimate")
                    style_png = gr.DownloadButton("16-bit PNG of the result (for print)", value=None, visible=False,
                                                  elem_id="style-png", size="sm")
                    loss_plot = gr.LinePlot(x="step", y="log10 weighted loss", color="term", height=260,
                                            x_axis_format="d",  # steps are whole numbers, also when there are few
                                            title="Weighted losses (log₁₀) per step", show_label=False,
                                            elem_id="style-loss")

            with gr.Accordion("Style a moving image: an animated GIF or a few seconds of MP4 / WebM", open=False):
                gr.Markdown("Each frame starts from the previous styled frame, and a temporal term keeps it where the "
                            "input did not move, so still regions do not flicker. Uses the style image and settings "
                            "above.")
                with gr.Row():
                    with gr.Column():
                        clip_input = FileInput(label="Clip (GIF, MP4 or WebM)", file_types=[".gif", ".mp4", ".webm"],
                                             elem_id="style-clip", height=120)
                        gr.Examples([[examples["moving-square"]]], inputs=[clip_input], label="Example clip")
                        with gr.Row():
                            clip_frames = Slider(2, studio.MAX_CLIP_FRAMES, value=DEFAULTS.clip_frames, step=1, label="Frames (at most)",
                                                    info="a longer clip is sampled evenly")
                            temporal_weight = Slider(0, studio.MAX_TEMPORAL_WEIGHT, value=studio.DEFAULT_TEMPORAL_WEIGHT,
                                                        step=10, label="Temporal weight",
                                                        info="0: each frame on its own (flicker)")
                        with gr.Row():
                            clip_size = Slider(64, 512, value=DEFAULTS.clip_size, step=32, label="Frame size (px)")
                            clip_iterations = Slider(1, 200, value=DEFAULTS.clip_iterations, step=1, label="Iterations",
                                                        info="first frame; each later one a quarter (at least 10): "
                                                             "it starts from the previous styled frame")
                        with gr.Row():
                            clip_button = gr.Button("Style the clip", variant="primary")
                            stop_clip = gr.Button("Stop", elem_id="style-clip-stop")
                        clip_estimate = gr.Markdown(elem_id="clip-estimate")
                    with gr.Column():
                        # the progress and the info next to the frame that streams, above the files that come last
                        clip_frame = image_output("Latest styled frame", elem_id="clip-frame")
                        clip_progress = progress_line("clip-progress")
                        clip_info = gr.Markdown(elem_id="clip-info")
                        clip_video = gr.Video(label="Styled clip (MP4)", interactive=False, elem_id="clip-video",
                                              height=300)
                        clip_gif = gr.File(label="Styled clip (GIF)", interactive=False, elem_id="clip-gif")

            # what Continue starts from: this visitor's last result, with the optimiser's state (L-BFGS keeps 50
            # image-sized pairs, ~130 MB at 384 px), so it is dropped 15 minutes after it was made
            last_run = gr.State(time_to_live=900)
            style_inputs = [content_image, style_image, second_style, second_weight, style_strength, tv_weight,
                            style_iterations, output_size, optimizer, color, multi_scale, init, style_scale,
                            pooling, style_seed, mask_editor, outside]
            style_outputs = [style_output, loss_plot, style_info, last_run]
            # (Continue checks its own inputs: on a shared link it continues from the image shown)
            paint_checks = {content_image: needed(studio.NO_CONTENT), style_image: needed(studio.NO_STYLE),
                            style_seed: studio.seed_problem}
            for button, handler, api_name, extra, checks in (
                    (style_button, studio.stylize, "style_transfer", [], paint_checks),
                    (continue_button, studio.continue_style, "continue_style", [last_run, style_output],
                     {style_seed: studio.seed_problem})):
                button.click(lambda: gr.DownloadButton(visible=False), None, style_png, queue=False,
                             api_visibility="private")
                run_job(button, style_info, "Preparing the style targets…",
                    gpu(handler, duration=300), inputs=[*style_inputs, *extra],
                    outputs=style_outputs, api_name=api_name, show_progress_on=style_progress, checks=checks,
                    **IMAGE_JOBS,
                ).success(studio.sixteen_bit_png, last_run, style_png, api_visibility="private", queue=False)
            run_job(clip_button, clip_info, "Reading the clip…",
                gpu(studio.stylize_clip, duration=600),
                inputs=[clip_input, style_image, style_strength, tv_weight, clip_iterations, clip_size, optimizer,
                        color, style_scale, pooling, style_seed, clip_frames, temporal_weight],
                outputs=[clip_frame, clip_video, clip_gif, clip_info], api_name="style_clip", show_progress_on=clip_progress,
                checks={clip_input: needed(studio.NO_CLIP), style_image: needed(studio.NO_CLIP_STYLE),
                        style_seed: studio.seed_problem},
                **IMAGE_JOBS,
            )
            wire_stop(stop_style, "style")
            wire_stop(stop_clip, "style")
            # the mask is brushed on the content image: another content image starts a clean canvas
            # (these listeners take the raw upload, preprocess=False: a bad file is reported once, by its check)
            content_image.change(studio.mask_canvas, [content_image, mask_editor], mask_editor, api_visibility="private",
                                 preprocess=False)
            # an estimate follows the latest settings: a change while the previous estimate is still being worked out
            # (the first one measures the network) runs after it (always_last) instead of being dropped
            gr.on([demo.load, content_image.change, output_size.change, style_iterations.change, optimizer.change,
                   multi_scale.change, color.change], studio.estimate_style,
                  inputs=[content_image, output_size, style_iterations, optimizer, multi_scale, color],
                  outputs=style_estimate,
                  api_name="estimate_style", concurrency_limit=None, show_progress="hidden", trigger_mode="always_last", preprocess=False)
            gr.on([demo.load, clip_input.change, clip_size.change, clip_iterations.change, optimizer.change,
                   clip_frames.change], studio.estimate_clip,
                  inputs=[clip_input, clip_size, clip_iterations, optimizer, clip_frames], outputs=clip_estimate,
                  api_name="estimate_clip", concurrency_limit=None, show_progress="hidden", trigger_mode="always_last")

    def remember_tab(selected: gr.SelectData):
        # the selected tab becomes part of the session's state, so a "Share via Link" link reopens it
        return gr.Tabs(selected=(text_tab, dream_tab, style_tab)[selected.index].id)

    tabs.select(remember_tab, None, tabs, api_visibility="private", queue=False)
    for image in (dream_image, guide_image, content_image, style_image, second_style):
        # .input: an upload, a webcam snapshot or a paste from the clipboard — every source gets the same checks
        image.input(studio.check_upload, image, image, preprocess=False, api_visibility="private",
                    concurrency_limit=None)  # queued: a gr.Warning reaches the page only through the queue

demo.queue(max_size=studio.QUEUE_SIZE, default_concurrency_limit=1)

if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    studio.measure_devices()  # one timed evaluation per default backbone, for the time estimates
    demo.launch(max_file_size="10mb", show_error=True, max_threads=studio.SERVER_THREADS, css=CSS, js=JS)
