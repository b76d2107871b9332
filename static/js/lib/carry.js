// The picture follows the lecturer: a link between a network's views (the explorer, its
// learned filters, its saliency maps) or to another network takes the image this page
// shows, a sample, an upload or a drawing (which the server keeps under an id), in the
// URL's `image=`. Started once for every page by lecture.js.
//
//   carryImage();

const SAMPLE = "sample-";

// The image this page shows: the URL's, else the sample its picker shows.
function currentImage() {
  const named = new URLSearchParams(window.location.search).get("image");
  if (named) return named;
  const menu = document.querySelector('.picker [data-role="sample"]');
  return menu && menu.value.startsWith(SAMPLE) ? menu.value : null;
}

export function carryImage() {
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest(".network-nav a[href]");
    const image = link && currentImage();
    if (!image) return;
    const url = new URL(link.getAttribute("href"), window.location.href);
    url.searchParams.set("image", image);
    link.setAttribute("href", `${url.pathname}${url.search}`);
  }, true); // before the browser follows the link
}
