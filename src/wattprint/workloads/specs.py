"""The standard datasets of each task and the statistics their synthetic stand-ins match.

Each statistic carries its source. Where a paper publishes word counts only, tokens are estimated as
words x 1.3 (the usual ratio for English under BERT WordPiece / GPT-2 BPE; see e.g. the OpenAI tokenizer
guide "1 token ~ 3/4 of a word"), and the source says so. Standard deviations marked "assumed" are our
choice where no source publishes one; the synthetic description repeats it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class DatasetSpec:
    """A standard dataset of a task and the statistics its synthetic stand-in must match.

    Lengths are in tokens of the model's tokenizer (approximately, words x 1.3 where only word counts
    are published); ``source`` cites where each statistic comes from.
    """

    name: str  # short name: "imdb"
    hub_id: str  # "stanfordnlp/imdb"
    split: str = "test"
    config: str | None = None
    fields: dict[str, str] = field(default_factory=dict)  # role -> column: {"text": "text", "label": "label"}
    stats: dict[str, Any] = field(default_factory=dict)  # {"tokens_mean": 300, "tokens_std": 220, ...}
    source: str = ""  # where the statistics come from
    license: str = ""


W2T = 1.3  # tokens per English word (approximation named in the module docstring)


def _t(words: float) -> int:
    return round(words * W2T)


_SPECS: dict[str, DatasetSpec] = {}  # filled once below, then frozen as SPECS


def _add(spec: DatasetSpec) -> DatasetSpec:
    _SPECS[spec.name] = spec
    return spec


# ---- text classification ---------------------------------------------------------------------------------
_add(DatasetSpec("imdb", "stanfordnlp/imdb", "test", None, {"text": "text", "label": "label"},
                 {"tokens_mean": _t(231), "tokens_std": _t(171), "tokens_min": 10, "tokens_max": 512,
                  "label_names": ["negative", "positive"]},
                 "Maas et al. 2011 (ACL), IMDB reviews: mean 231 words, median 174; std assumed 171 words "
                 "(right-skewed); tokens = words x 1.3, truncated at 512", "other (research use)"))
_add(DatasetSpec("rotten_tomatoes", "cornell-movie-review-data/rotten_tomatoes", "test", None,
                 {"text": "text", "label": "label"},
                 {"tokens_mean": _t(21), "tokens_std": _t(9), "tokens_min": 3, "tokens_max": 80,
                  "label_names": ["negative", "positive"]},
                 "Pang & Lee 2005 sentence polarity v1.0: 10,662 snippets, mean about 21 words "
                 "(Kim 2014, table 1: MR average length 20); std assumed 9 words", "unknown"))
_add(DatasetSpec("sst2", "stanfordnlp/sst2", "validation", None, {"text": "sentence", "label": "label"},
                 {"tokens_mean": _t(19), "tokens_std": _t(9), "tokens_min": 2, "tokens_max": 70,
                  "label_names": ["negative", "positive"]},
                 "Kim 2014, table 1: SST-2 average sentence length 19 words; std assumed 9 words", "unknown"))
# ---- token classification (lengths in words: items are pre-split) --------------------------------------
_add(DatasetSpec("conll2003", "eriktks/conll2003", "test", None, {"tokens": "tokens", "label": "ner_tags"},
                 {"words_mean": 13.4, "words_std": 11.0, "words_min": 1, "words_max": 124,
                  "label_names": ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]},
                 "Tjong Kim Sang & De Meulder 2003, table 1: English test 3,453 sentences, 46,435 tokens "
                 "(13.4 words/sentence); std assumed 11", "research use (Reuters)"))
_add(DatasetSpec("wnut_17", "leondz/wnut_17", "test", None, {"tokens": "tokens", "label": "ner_tags"},
                 {"words_mean": 18.2, "words_std": 9.0, "words_min": 1, "words_max": 105,
                  "label_names": ["O", "B-corporation", "I-corporation", "B-creative-work", "I-creative-work",
                                  "B-group", "I-group", "B-location", "I-location", "B-person", "I-person",
                                  "B-product", "I-product"]},
                 "Derczynski et al. 2017 (W-NUT), table 1: test 1,287 documents, 23,394 tokens (18.2 "
                 "words each); std assumed 9", "CC-BY-4.0"))
_add(DatasetSpec("wikiann", "unimelb-nlp/wikiann", "test", "en", {"tokens": "tokens", "label": "ner_tags"},
                 {"words_mean": 8.0, "words_std": 4.0, "words_min": 1, "words_max": 60,
                  "label_names": ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]},
                 "Pan et al. 2017 (WikiANN), English split of Rahimi et al. 2019: 10,000 test sentences, "
                 "Wikipedia sentence fragments around entity links; about 8 words each (estimated), std "
                 "assumed 4", "ODC-BY"))
_add(DatasetSpec("record", "aps/super_glue", "test", "record", {"text": "passage"},
                 {"words_mean": 170.0, "words_std": 60.0, "words_min": 20, "words_max": 500},
                 "Zhang et al. 2018 (ReCoRD, SuperGLUE): passages are the openings of CNN/Daily Mail news "
                 "articles; about 170 words each (estimated), std assumed 60; no token labels (the study "
                 "tagged the raw passage)", "Apache-2.0 (passages: CNN/Daily Mail, research)"))
_add(DatasetSpec("ontonotes5", "tner/ontonotes5", "test", None, {"tokens": "tokens", "label": "tags"},
                 {"words_mean": 18.0, "words_std": 12.0, "words_min": 1, "words_max": 150},
                 "OntoNotes 5.0 English NER test split (Pradhan et al. 2013, CoNLL-2012): 12,217 sentences, "
                 "about 220k words (about 18 words each); std assumed 12", "LDC (research)"))
# ---- extractive question answering ----------------------------------------------------------------------
_QA = {"question": "question", "context": "context", "answer": "answers"}
_add(DatasetSpec("squad", "rajpurkar/squad", "validation", None, _QA,
                 {"context_tokens_mean": _t(120), "context_tokens_std": _t(55), "context_tokens_min": 30,
                  "context_tokens_max": 384, "question_tokens_mean": _t(10), "question_tokens_std": _t(3.5)},
                 "Rajpurkar et al. 2016 (SQuAD v1.1): paragraphs about 120 words, questions about 10 words "
                 "(section 3 length statistics); stds assumed", "CC-BY-SA-4.0"))
_add(DatasetSpec("squad_v2", "rajpurkar/squad_v2", "validation", None, _QA,
                 {"context_tokens_mean": _t(120), "context_tokens_std": _t(55), "context_tokens_min": 30,
                  "context_tokens_max": 384, "question_tokens_mean": _t(10), "question_tokens_std": _t(3.5)},
                 "Rajpurkar et al. 2018 (SQuAD 2.0) reuses SQuAD 1.1 paragraphs (about 120 words) and "
                 "adds unanswerable questions of similar length; stds assumed", "CC-BY-SA-4.0"))
_add(DatasetSpec("sciq", "allenai/sciq", "test", None,
                 {"question": "question", "context": "support", "answer": "correct_answer"},
                 {"context_tokens_mean": _t(85), "context_tokens_std": _t(40), "context_tokens_min": 10,
                  "context_tokens_max": 384, "question_tokens_mean": _t(14), "question_tokens_std": _t(5)},
                 "Welbl et al. 2017 (SciQ): 13.7k questions with a support paragraph; lengths estimated "
                 "(support about 85 words, questions about 14 words), stds assumed", "CC-BY-NC-3.0"))
# ---- language modelling corpora (text generation prompts, fill-mask) ------------------------------------
_add(DatasetSpec("wikitext", "Salesforce/wikitext", "test", "wikitext-103-raw-v1", {"text": "text"},
                 {"tokens_mean": 120, "tokens_std": 60, "tokens_min": 8, "tokens_max": 512},
                 "Merity et al. 2016 (WikiText-103): test 245k tokens over 4,358 lines (paragraphs); "
                 "non-empty paragraph length about 90 words = 120 tokens, std assumed 60", "CC-BY-SA-3.0"))
_add(DatasetSpec("bookcorpus", "bookcorpus/bookcorpus", "train", None, {"text": "text"},
                 {"tokens_mean": 16, "tokens_std": 10, "tokens_min": 3, "tokens_max": 128},
                 "Zhu et al. 2015 (BookCorpus): 74M sentences, 984M words (13.1 words/sentence, table 1) "
                 "= about 16 tokens; std assumed 10", "unknown (books)"))
_add(DatasetSpec("oscar", "oscar-corpus/oscar", "train", "unshuffled_deduplicated_en", {"text": "text"},
                 {"tokens_mean": 300, "tokens_std": 200, "tokens_min": 16, "tokens_max": 512},
                 "Ortiz Suarez et al. 2019 (OSCAR, Common Crawl documents): English documents are long; "
                 "prompts are truncated to 512 tokens; mean 300 / std 200 tokens assumed", "CC0 (metadata)"))
_add(DatasetSpec("c4", "allenai/c4", "train", "en", {"text": "text"},
                 {"tokens_mean": 427, "tokens_std": 400, "tokens_min": 16, "tokens_max": 512},
                 "Dodge et al. 2021 (Documenting C4), C4.EN: 365M documents, 156B tokens = about 427 tokens "
                 "each; std assumed 400; prompts are truncated to 512 tokens", "ODC-BY"))
# ---- summarization ----------------------------------------------------------------------------------------
_SUM = {"text": "article", "summary": "highlights"}
_add(DatasetSpec("cnn_dailymail", "abisee/cnn_dailymail", "test", "3.0.0", _SUM,
                 {"tokens_mean": 781, "tokens_std": 390, "tokens_min": 50, "tokens_max": 1024,
                  "summary_tokens_mean": 56},
                 "See et al. 2017, section 4: articles 781 tokens on average, summaries 56 tokens; "
                 "std assumed 390; inputs truncated to 1,024 tokens", "Apache-2.0"))
_add(DatasetSpec("xsum", "EdinburghNLP/xsum", "test", None, {"text": "document", "summary": "summary"},
                 {"tokens_mean": _t(431), "tokens_std": _t(250), "tokens_min": 20, "tokens_max": 1024,
                  "summary_tokens_mean": _t(23.3)},
                 "Narayan et al. 2018, table 1: documents 431 words, summaries 23.3 words; std assumed 250 "
                 "words", "CC-BY-SA-4.0 (BBC, research)"))
_add(DatasetSpec("samsum", "knkarthick/samsum", "test", None, {"text": "dialogue", "summary": "summary"},
                 {"tokens_mean": _t(94), "tokens_std": _t(70), "tokens_min": 10, "tokens_max": 1024,
                  "summary_tokens_mean": _t(20)},
                 "Gliwa et al. 2019 (SAMSum): dialogues about 94 words, summaries about 20 words; std "
                 "assumed 70 words", "CC-BY-NC-ND-4.0"))
# ---- images ---------------------------------------------------------------------------------------------
_add(DatasetSpec("imagenet-1k", "ILSVRC/imagenet-1k", "validation", None, {"image": "image", "label": "label"},
                 {"width_mean": 500, "width_std": 90, "height_mean": 375, "height_std": 70, "size_min": 80,
                  "size_max": 1000, "label_space": "imagenet-1k"},
                 "ILSVRC 2012 validation (Russakovsky et al. 2015): 50,000 JPEGs, most commonly 500x375 "
                 "(Flickr sizes); stds assumed", "ImageNet terms (research, gated)"))
_add(DatasetSpec("cifar10", "uoft-cs/cifar10", "test", None, {"image": "img", "label": "label"},
                 {"width_mean": 32, "width_std": 0, "height_mean": 32, "height_std": 0, "size_min": 32,
                  "size_max": 32, "label_space": "cifar10"},
                 "Krizhevsky 2009: 10,000 test images of 32x32 pixels", "unknown (research)"))
_add(DatasetSpec("cifar100", "uoft-cs/cifar100", "test", None, {"image": "img", "label": "fine_label"},
                 {"width_mean": 32, "width_std": 0, "height_mean": 32, "height_std": 0, "size_min": 32,
                  "size_max": 32, "label_space": "cifar100"},
                 "Krizhevsky 2009: 10,000 test images of 32x32 pixels", "unknown (research)"))
_COCO_SIZE = {"width_mean": 578, "width_std": 92, "height_mean": 484, "height_std": 97, "size_min": 64,
              "size_max": 640}
_STUDY_RESIZE = "the study resized every image to 640x480 before the pipeline"
_COCO_SRC = ("COCO 2017 val (Lin et al. 2014): 5,000 images, longest side 640 px; mean about 578x484 "
             "(most are 640x480 or 640x427), stds assumed")
_add(DatasetSpec("coco", "detection-datasets/coco", "val", None, {"image": "image", "objects": "objects"},
                 dict(_COCO_SIZE), _COCO_SRC, "CC-BY-4.0 (annotations)"))
_add(DatasetSpec("voc2007", "HuggingFaceM4/pascal_voc", "test", "voc2007_main", {"image": "image"},
                 {"width_mean": 470, "width_std": 60, "height_mean": 380, "height_std": 60, "size_min": 100,
                  "size_max": 500},
                 "Everingham et al. 2010 (PASCAL VOC 2007 test, 4,952 images from Flickr, longest side "
                 "500 px); mean about 470x380, stds assumed", "Flickr terms (research)"))
_add(DatasetSpec("lvis", "winvoker/lvis", "validation", None, {"image": "image"},
                 dict(_COCO_SIZE), "LVIS v1 (Gupta et al. 2019) annotates COCO 2017 images: " + _COCO_SRC,
                 "CC-BY-4.0 (annotations)"))
_add(DatasetSpec("cppe5", "rishitdagli/cppe-5", "train", None, {"image": "image", "objects": "objects"},
                 {"width_mean": 1000, "width_std": 400, "height_mean": 750, "height_std": 300, "size_min": 200,
                  "size_max": 4000},
                 "Dagli & Shaikh 2021 (CPPE-5): 1,029 photographs of medical personal protective equipment "
                 "from the web, 5 object classes; sizes vary widely (mean about 1000x750 assumed, stds "
                 "assumed); " + _STUDY_RESIZE, "Unknown (research use)"))
_add(DatasetSpec("visual_genome", "ranjaykrishna/visual_genome", "train", "objects_v1.2.0", {"image": "image"},
                 {"width_mean": 500, "width_std": 150, "height_mean": 400, "height_std": 120, "size_min": 100,
                  "size_max": 1280},
                 "Krishna et al. 2017 (Visual Genome): 108,077 images from the COCO and YFCC100M Flickr sets; "
                 "sizes approximate (mean about 500x400, stds assumed); " + _STUDY_RESIZE, "CC-BY-4.0"))
_add(DatasetSpec("redcaps", "kdexd/red_caps", "train", "roses_2020",
                 {"image_url": "image_url", "captions": "caption"},
                 {"width_mean": 1500, "width_std": 600, "height_mean": 1300, "height_std": 600, "size_min": 200,
                  "size_max": 4000, "caption_words_mean": 9.0},
                 "Desai et al. 2021 (RedCaps): 12M image-caption pairs from Reddit (the roses_2020 subset here); "
                 "images are user photographs, sizes approximate (mean about 1500x1300 assumed, stds assumed), "
                 "captions about 9 words (estimated); " + _STUDY_RESIZE, "CC-BY-4.0 (annotations; images "
                 "under Reddit's terms)"))
_add(DatasetSpec("coco_captions", "yerevann/coco-karpathy", "test", None,
                 {"image_url": "url", "captions": "sentences"},
                 dict(_COCO_SIZE, caption_words_mean=10.5),
                 "Karpathy test split of COCO 2014 (5,000 images, 5 captions each, about 10.5 words); "
                 + _COCO_SRC, "CC-BY-4.0 (annotations)"))
_add(DatasetSpec("flickr30k", "nlphuji/flickr30k", "test", None, {"image": "image", "captions": "caption"},
                 {"width_mean": 460, "width_std": 60, "height_mean": 390, "height_std": 70, "size_min": 100,
                  "size_max": 500, "caption_words_mean": 12.3},
                 "Young et al. 2014 (Flickr30k): Flickr images, longest side 500 px; captions about 12.3 "
                 "words; sizes approximate, stds assumed", "Flickr terms (research)"))
_add(DatasetSpec("nocaps", "HuggingFaceM4/NoCaps", "validation", None,
                 {"image": "image", "captions": "annotations_captions"},
                 {"width_mean": 900, "width_std": 200, "height_mean": 700, "height_std": 150, "size_min": 200,
                  "size_max": 1024, "caption_words_mean": 11.0},
                 "Agrawal et al. 2019 (nocaps, Open Images validation, 4,500 images, up to 1024 px); sizes "
                 "approximate, stds assumed", "CC-BY-2.0 (images)"))
# ---- text-to-image prompts (tokens of the CLIP tokenizer, capped at its 77-token window) ----------------
_add(DatasetSpec("diffusiondb", "poloclub/diffusiondb", "train", "2m_random_1k", {"prompt": "prompt"},
                 {"tokens_mean": 36, "tokens_std": 18, "tokens_min": 2, "tokens_max": 75},
                 "Wang et al. 2022 (DiffusionDB): 2M user prompts from Stable Diffusion's Discord; median "
                 "prompt about 25 words (their figure 3), most under the 77-token CLIP window; mean 36 / std "
                 "18 tokens estimated", "CC0-1.0"))
_add(DatasetSpec("parti_prompts", "nateraw/parti-prompts", "train", None, {"prompt": "Prompt"},
                 {"tokens_mean": 15, "tokens_std": 10, "tokens_min": 1, "tokens_max": 75},
                 "Yu et al. 2022 (Parti, PartiPrompts P2): 1,600 prompts, most one short sentence; "
                 "mean about 11 words = 15 tokens estimated, std assumed", "Apache-2.0"))
_add(DatasetSpec("coco_prompts", "yerevann/coco-karpathy", "test", None, {"prompt": "sentences"},
                 {"tokens_mean": _t(10.5), "tokens_std": _t(2.5), "tokens_min": 5, "tokens_max": 50},
                 "COCO captions as prompts (Chen et al. 2015): about 10.5 words each; std assumed 2.5",
                 "CC-BY-4.0 (annotations)"))
_add(DatasetSpec("imagereward", "THUDM/ImageRewardDB", "train", "1k", {"prompt": "prompt"},
                 {"tokens_mean": 36, "tokens_std": 18, "tokens_min": 2, "tokens_max": 75},
                 "Xu et al. 2023 (ImageReward): its prompts were chosen from DiffusionDB, so DiffusionDB's "
                 "statistics stand here (mean 36 / std 18 tokens, estimated)", "Apache-2.0"))
_add(DatasetSpec("sd_prompts", "Gustavosta/Stable-Diffusion-Prompts", "test", None, {"prompt": "Prompt"},
                 {"tokens_mean": 55, "tokens_std": 18, "tokens_min": 4, "tokens_max": 75},
                 "Stable-Diffusion-Prompts (80,000 prompts from the Lexica.art search engine): long lists of "
                 "style keywords, many beyond CLIP's 77-token window; mean 55 / std 18 tokens estimated, "
                 "capped at 75", "unknown (scraped from Lexica.art)"))
# ---- speech (16 kHz audio) --------------------------------------------------------------------------------
_add(DatasetSpec("librispeech", "openslr/librispeech_asr", "test", "clean", {"audio": "audio", "text": "text"},
                 {"seconds_mean": 7.42, "seconds_std": 4.9, "seconds_min": 1.3, "seconds_max": 35.0},
                 "Panayotov et al. 2015, table 1: test-clean 5.4 h over 2,620 utterances = 7.42 s each; "
                 "std, min and max approximate", "CC-BY-4.0"))
_add(DatasetSpec("common_voice", "mozilla-foundation/common_voice_17_0", "test", "en",
                 {"audio": "audio", "text": "sentence"},
                 {"seconds_mean": 5.5, "seconds_std": 1.7, "seconds_min": 1.0, "seconds_max": 10.0},
                 "Ardila et al. 2020 (Common Voice): read sentences, clips capped at 10 s, about 5 s on "
                 "average; std assumed", "CC0-1.0 (gated on the hub)"))
_add(DatasetSpec("fleurs", "google/fleurs", "test", "en_us", {"audio": "audio", "text": "transcription"},
                 {"seconds_mean": 10.0, "seconds_std": 4.0, "seconds_min": 2.0, "seconds_max": 30.0},
                 "Conneau et al. 2022 (FLEURS): about 12 h per language over about 3,500 utterances of "
                 "FLoRes sentences (10 s each on average); std assumed", "CC-BY-4.0"))
# ---- sentence similarity (pairs; tokens per sentence) ----------------------------------------------------
_add(DatasetSpec("stsb", "sentence-transformers/stsb", "test", None,
                 {"sentence1": "sentence1", "sentence2": "sentence2", "score": "score"},
                 {"tokens_mean": _t(10), "tokens_std": _t(5), "tokens_min": 2, "tokens_max": 64},
                 "Cer et al. 2017 (STS-B test, 1,379 pairs): sentences about 10 words; std assumed 5",
                 "CC-BY-SA-4.0"))
_add(DatasetSpec("sick", "mteb/sickr-sts", "test", None,
                 {"sentence1": "sentence1", "sentence2": "sentence2", "score": "score"},
                 {"tokens_mean": _t(9.6), "tokens_std": _t(3.5), "tokens_min": 3, "tokens_max": 40},
                 "Marelli et al. 2014 (SICK): 9,840 pairs of sentences about 9.6 words long; std assumed",
                 "CC-BY-NC-SA-3.0"))
_add(DatasetSpec("quora", "sentence-transformers/quora-duplicates", "train", "pair-class",
                 {"sentence1": "sentence1", "sentence2": "sentence2", "score": "label"},
                 {"tokens_mean": _t(11), "tokens_std": _t(6), "tokens_min": 2, "tokens_max": 64},
                 "Quora Question Pairs (Iyer et al. 2017): questions about 11 words; std assumed",
                 "Quora terms (non-commercial)"))

# ---- AI Energy Score's own task datasets (the aienergyscore preset's inputs) ------------------------------
# 1,000 rows each, sampled equally from three datasets; the input-token totals are the AI Energy Score
# documentation's (huggingface.github.io/AIEnergyScore, Methodology, Table 1), the columns those of
# optimum-benchmark's energy_star configs (examples/energy_star/*.yaml, branch energy_star_dev), which load the
# train split (the same datasets are also published as EnergyStarAI/<task>). Stds are assumed, about half the mean,
# so that clipping at the minimum barely moves the mean. No reference column is used: the three sources of
# a mix do not share one label space.
_AES = "AI Energy Score documentation, Methodology, Table 1"
_add(DatasetSpec("aienergyscore_text_generation", "AIEnergyScore/text_generation", "train", None, {"text": "text"},
                 {"tokens_mean": 369, "tokens_std": 185, "tokens_min": 8, "tokens_max": 1024},
                 f"{_AES}: WikiText, OSCAR and UltraChat, 369,139 input tokens over 1,000 prompts; std assumed, "
                 "half the mean",
                 "per source dataset"))
_add(DatasetSpec("aienergyscore_summarization", "AIEnergyScore/summarization", "train", None, {"text": "text"},
                 {"tokens_mean": 384, "tokens_std": 190, "tokens_min": 10, "tokens_max": 1024},
                 f"{_AES}: CNN/DailyMail, SAMSum and arXiv, 383,715 input tokens over 1,000 texts; std assumed, "
                 "half the mean",
                 "per source dataset"))
_add(DatasetSpec("aienergyscore_text_classification", "AIEnergyScore/text_classification", "train", None,
                 {"text": "text"},
                 {"tokens_mean": 157, "tokens_std": 80, "tokens_min": 3, "tokens_max": 512},
                 f"{_AES}: IMDB, TweetEval and Yelp reviews, 156,925 input tokens over 1,000 texts; std assumed, "
                 "about half the mean",
                 "per source dataset"))
_add(DatasetSpec("aienergyscore_extractive_qa", "AIEnergyScore/extractive_qa", "train", None,
                 {"question": "question", "context": "context"},
                 {"context_tokens_mean": _t(120), "context_tokens_std": _t(55), "context_tokens_min": 30,
                  "context_tokens_max": 384, "question_tokens_mean": 11, "question_tokens_std": 4},
                 f"{_AES}: SQuAD v2, XQuAD and SQuADShifts; its 10,904 input tokens over 1,000 rows are 11 per "
                 "question (the total cannot hold the contexts); contexts as SQuAD's paragraphs (about 120 words, "
                 "the three sources are SQuAD-style Wikipedia and web paragraphs); stds assumed", "per source dataset"))
_add(DatasetSpec("aienergyscore_sentence_similarity", "AIEnergyScore/sentence_similarity", "train", None,
                 {"sentence1": "sentence1", "sentence2": "sentence2"},
                 {"tokens_mean": 11, "tokens_std": 6, "tokens_min": 2, "tokens_max": 64},
                 f"{_AES}: STS Benchmark, Sentence Compression and Phrase Similarity, 22,919 input tokens over "
                 "1,000 pairs, taken as 11 per sentence; std assumed 6", "per source dataset"))

SPECS = MappingProxyType(_SPECS)

# The dataset the aienergyscore preset runs each text task on (the preset file names it): AI Energy Score's own.
AIENERGYSCORE_DATASETS: MappingProxyType[str, str] = MappingProxyType({
    "text-generation": "aienergyscore_text_generation",
    "summarization": "aienergyscore_summarization",
    "text-classification": "aienergyscore_text_classification",
    "question-answering": "aienergyscore_extractive_qa",
    "sentence-similarity": "aienergyscore_sentence_similarity",
})

# The three datasets of each task in the Power Hungry Processing study (Luccioni, Jernite & Strubell, FAccT
# 2024), read from its code (github.com/sashavor/co2_inference, code/*/*.py), and how the study read them where
# that differs from the spec above. The general-purpose models ran on the text-classification,
# question-answering and summarization sets.
STUDY_DATASETS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType({
    "text-classification": ("imdb", "sst2", "rotten_tomatoes"),
    "token-classification": ("conll2003", "wikiann", "record"),
    "question-answering": ("squad", "squad_v2", "sciq"),
    "fill-mask": ("bookcorpus", "c4", "oscar"),
    "text-generation": ("wikitext", "bookcorpus", "oscar"),
    "summarization": ("cnn_dailymail", "xsum", "samsum"),
    "image-classification": ("imagenet-1k", "cifar10", "cifar100"),
    "object-detection": ("coco", "cppe5", "visual_genome"),
    "image-captioning": ("coco", "redcaps", "visual_genome"),
    "image-generation": ("diffusiondb", "imagereward", "sd_prompts"),
})
STUDY_GENERAL_TASKS = ("text-classification", "question-answering", "summarization")
STUDY_READING: MappingProxyType[str, str] = MappingProxyType({
    "sst2": "the test split (unlabelled)",
    "rotten_tomatoes": "the validation split",
    "conll2003": "the validation split, words joined into one string",
    "imagenet-1k": "the test split, images resized to 640x480",
    "cifar10": "images resized to 640x480",
    "cifar100": "images resized to 640x480",
    "coco": "rafaelpadilla/coco2017 val (the same COCO 2017 val images), resized to 640x480",
    "cppe5": "resized to 640x480",
    "visual_genome": "resized to 640x480",
    "redcaps": "images downloaded from image_url, resized to 640x480",
    "wikitext": "the first 20 words of each line",
    "bookcorpus": "the first 20 words of each sentence (text generation); the whole sentence (fill-mask)",
    "oscar": "the first 20 words of each document",
    "c4": "the first 20 words of each document",
    "samsum": "the train split",
    "diffusiondb": "the 2m_first_1k subset; the first 50 words of each prompt",
    "imagereward": "the first 50 words of each prompt",
    "sd_prompts": "the first 50 words of each prompt",
})


def spec(name: str) -> DatasetSpec:
    from wattprint.core.errors import UnknownNameError

    if name not in SPECS:
        raise UnknownNameError("dataset", name, SPECS)
    return SPECS[name]


def specs(*names: str) -> tuple[DatasetSpec, ...]:
    return tuple(spec(n) for n in names)


def study_datasets(task: str) -> tuple[DatasetSpec, ...]:
    """The study's three datasets of ``task`` (none for a task the study did not run)."""
    return specs(*STUDY_DATASETS.get(task, ()))


def entry_study_datasets(entry: Any) -> tuple[str, ...]:
    """The datasets the study ran a catalog entry on (``wattprint.models.catalog.ModelEntry``): its task's
    three, or, for a general-purpose model, those of the tasks the study asked it to do zero-shot; none for a
    model outside the study."""
    tasks = [t for t in entry.tasks if study_ran(entry, t)]
    return tuple(n for t in tasks for n in STUDY_DATASETS.get(t, ()))


def study_ran(entry: Any, task: str) -> bool:
    """Whether the study ran this catalog entry on ``task`` (general-purpose models: zero-shot on text
    classification, question answering and summarization only)."""
    return (bool(getattr(entry, "study", False)) and task in entry.tasks
            and (entry.kind == "task-specific" or task in STUDY_GENERAL_TASKS))
