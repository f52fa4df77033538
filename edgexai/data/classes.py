"""The 43 GTSRB class names (shared by GTSRB and GTSDB), indexed by class id."""

GTSRB_CLASSES: tuple[str, ...] = (
    "speed limit 20", "speed limit 30", "speed limit 50", "speed limit 60",
    "speed limit 70", "speed limit 80", "end of speed limit 80", "speed limit 100",
    "speed limit 120", "no passing", "no passing for trucks", "right of way at next intersection",
    "priority road", "yield", "stop", "no vehicles", "no trucks", "no entry",
    "general caution", "dangerous curve left", "dangerous curve right", "double curve",
    "bumpy road", "slippery road", "road narrows on the right", "road work",
    "traffic signals", "pedestrians", "children crossing", "bicycles crossing",
    "beware of ice/snow", "wild animals crossing", "end of all limits", "turn right ahead",
    "turn left ahead", "ahead only", "go straight or right", "go straight or left",
    "keep right", "keep left", "roundabout mandatory", "end of no passing",
    "end of no passing for trucks",
)
NUM_CLASSES = len(GTSRB_CLASSES)
