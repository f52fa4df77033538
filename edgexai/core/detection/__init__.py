"""Sign finding shared by training and the vehicle (numpy only): box geometry, the GTSDB sign
categories, the reference decoder of the detector's head, and detection scoring (AP, recall,
precision) against `gt.txt` ground truth."""
